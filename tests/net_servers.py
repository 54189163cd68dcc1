"""Real network endpoints on loopback for the network checks' tests.

- ``Tarpit``: accepts TCP connections and never answers (a black-hole proxy or git remote).
- ``GitHttpServer``: git's own ``git http-backend`` behind a small threaded HTTP server (CGI by hand), serving the
  bare repositories of a folder; it records each request's path and headers.
- ``Tinyproxy``: the real tinyproxy in the foreground with a generated configuration and its own log file.
- ``make_repo``: a real repository with one commit; returns its commit hash.
"""

import os
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_CONFIG_NOSYSTEM": "1"}


def free_port(host="127.0.0.1"):
    """A port nothing listens on right now (bound once, then released)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def git(*args, cwd=None, env=None):
    full = dict(os.environ)
    full.update(GIT_ENV)
    full.update(env or {})
    return subprocess.run(["git"] + list(args), cwd=cwd, env=full, check=True, capture_output=True, text=True).stdout


def make_repo(path, bare_copy=None, files=None):
    """A repository at ``path`` with one commit; with ``bare_copy``, also a bare clone there. Returns the hash."""
    os.makedirs(path, exist_ok=True)
    git("init", "-q", path)
    for name, text in (files or {"README": os.path.basename(path) + "\n"}).items():
        with open(os.path.join(path, name), "w") as fh:
            fh.write(text)
    git("-C", path, "add", "-A")
    git("-C", path, "commit", "-q", "-m", "initial")
    head = git("-C", path, "rev-parse", "HEAD").strip()
    if bare_copy:
        git("clone", "-q", "--bare", path, bare_copy)
    return head


class Tarpit(object):
    """Accepts connections and never says a word. Counts the connections it accepted."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.held = []
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.05)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            self.held.append(conn)

    def close(self):
        self._stop = True
        self.thread.join(1)
        for conn in self.held:
            conn.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class GitHttpServer(object):
    """Smart-HTTP git over loopback: ``http://127.0.0.1:PORT/<name>.git`` for every bare repository in ``root``."""

    def __init__(self, root):
        self.root = root
        self.requests = []  # (path, {header: value})
        backend = self._backend()
        server_self = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args):
                pass

            def _cgi(self):
                server_self.requests.append((self.path, dict((k.lower(), v) for k, v in self.headers.items())))
                path, _, query = self.path.partition("?")
                if path.startswith("http://"):  # absolute form (through a proxy that forwards as is)
                    path = "/" + path.split("/", 3)[3]
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                env = {"GIT_PROJECT_ROOT": server_self.root, "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path,
                       "QUERY_STRING": query, "REQUEST_METHOD": self.command, "REMOTE_ADDR": "127.0.0.1",
                       "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
                       "PATH": os.environ.get("PATH", ""), "GIT_CONFIG_NOSYSTEM": "1",
                       "HOME": server_self.root}
                if self.headers.get("Git-Protocol"):
                    env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
                proc = subprocess.run([backend], input=body, env=env, capture_output=True, timeout=20)
                head, _, payload = proc.stdout.partition(b"\r\n\r\n")
                if not _:
                    head, _, payload = proc.stdout.partition(b"\n\n")
                status = 200
                headers = []
                for line in head.decode("latin-1").splitlines():
                    if ":" not in line:
                        continue
                    name, value = line.split(":", 1)
                    if name.lower() == "status":
                        status = int(value.strip().split()[0])
                    else:
                        headers.append((name, value.strip()))
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _cgi
            do_POST = _cgi

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    @staticmethod
    def _backend():
        exec_path = subprocess.run(["git", "--exec-path"], capture_output=True, text=True, check=True).stdout.strip()
        return os.path.join(exec_path, "git-http-backend")

    def url(self, name):
        return "http://127.0.0.1:%d/%s" % (self.port, name)

    def requests_for(self, name):
        return [(p, h) for p, h in self.requests if name in p]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Tinyproxy(object):
    """The real tinyproxy on a loopback port, in the foreground, logging every request to ``log``."""

    def __init__(self, folder, extra=()):
        self.exe = shutil.which("tinyproxy") or ("/usr/bin/tinyproxy" if os.path.exists("/usr/bin/tinyproxy") else None)
        if not self.exe:
            raise RuntimeError("tinyproxy is not installed")
        os.makedirs(folder, exist_ok=True)
        self.port = free_port()
        self.log = os.path.join(folder, "tinyproxy.log")
        self.conf = os.path.join(folder, "tinyproxy.conf")
        lines = ["Port %d" % self.port, "Listen 127.0.0.1", "Timeout 20", "MaxClients 20", "Allow 127.0.0.1",
                 "LogFile \"%s\"" % self.log, "LogLevel Info", "ViaProxyName \"sdtestproxy\""] + list(extra)
        if os.geteuid() == 0:
            lines[0:0] = ["User root", "Group root"]
        with open(self.conf, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        self.proc = subprocess.Popen([self.exe, "-d", "-c", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        end = time.monotonic() + 5
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("tinyproxy did not start")

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def log_text(self):
        try:
            with open(self.log, "r", errors="replace") as fh:
                return fh.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(3)


def launch_utils_text(repos):
    """A modules/launch_utils.py in the shape the web UI's has: ``repos`` is [(VAR_STEM, url, commit, folder)]."""
    lines = ["import os", "", "", "def prepare_environment():"]
    for stem, url, commit, _ in repos:
        lines.append("    %s_repo = os.environ.get('%s_REPO', \"%s\")" % (stem.lower(), stem, url))
    for stem, url, commit, _ in repos:
        lines.append("    %s_commit_hash = os.environ.get('%s_COMMIT_HASH', \"%s\")" % (stem.lower(), stem, commit))
    lines.append("")
    for stem, url, commit, folder in repos:
        lines.append("    git_clone(%s_repo, repo_dir('%s'), \"%s\", %s_commit_hash)"
                     % (stem.lower(), folder, stem.lower(), stem.lower()))
    return "\n".join(lines) + "\n"


class IndexServer(object):
    """A loopback package index in the simple-index shape: ``/simple/<project>/`` pages, ``/whl/torch/`` listing one
    torch wheel whose bytes are served with Range support, optionally trickled at ``rate`` bytes/s; any other path
    answers 404. With ``tls=(certfile, keyfile)`` it speaks HTTPS. ``requests`` records the paths asked for."""

    def __init__(self, wheel_name="torch-2.1.2+cu121-cp310-cp310-linux_x86_64.whl", wheel_size=64 * 1024 * 1024,
                 rate=None, tls=None):
        import ssl
        from urllib.parse import quote

        self.requests = []
        self.wheel_name, self.wheel_size, self.rate = wheel_name, wheel_size, rate
        server_self = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, status, body, ctype="text/html", extra=()):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in extra:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                if path.startswith("http://"):
                    path = "/" + path.split("/", 3)[3]
                server_self.requests.append(path)
                if path.startswith("/simple/") and path.endswith("/"):
                    return self._send(200, b"<html><body><a href='x.whl'>x</a></body></html>")
                if path == "/whl/torch/":
                    href = "/files/" + quote(server_self.wheel_name) + "#sha256=00"
                    return self._send(200, ("<html><body><a href=\"%s\">%s</a></body></html>" % (
                        href, server_self.wheel_name)).encode())
                if path.startswith("/files/"):
                    return self._wheel()
                return self._send(404, b"not found")

            def _wheel(self):
                size = server_self.wheel_size
                start, end = 0, size - 1
                rng = self.headers.get("Range", "")
                if rng.startswith("bytes="):
                    a, _, b = rng[6:].partition("-")
                    start, end = int(a or 0), min(size - 1, int(b) if b else size - 1)
                    self.send_response(206)
                    self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end, size))
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(end - start + 1))
                self.end_headers()
                left = end - start + 1
                step = 4096
                try:
                    while left > 0:
                        n = min(step, left)
                        self.wfile.write(b"\0" * n)
                        self.wfile.flush()
                        left -= n
                        if server_self.rate:
                            time.sleep(n / float(server_self.rate))
                except OSError:
                    return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def url(self, path=""):
        return "%s://127.0.0.1:%d%s" % (self.scheme, self.port, path)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def self_signed(folder, name="sd-doctor test interceptor"):
    """(certfile, keyfile) of a self-signed certificate for 127.0.0.1 made with ``cryptography``."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sd-doctor tests")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    certfile, keyfile = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    with open(certfile, "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(keyfile, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                   serialization.NoEncryption()))
    return certfile, keyfile
