"""The windows check's Visual C++ runtime part (webui-facts.md §10): torch 2.4 and newer on Windows load
``vcruntime140.dll``, ``vcruntime140_1.dll`` and ``msvcp140.dll`` from the Visual C++ 2015-2022 x64 runtime; without it
the first ``import torch`` fails with "[WinError 126] ... fbgemm.dll" (Forge #1243).

Read from the registry (``HKLM\\SOFTWARE\\Microsoft\\VisualStudio\\14.0\\VC\\Runtimes\\x64``: ``Installed`` = 1 and
``Version`` = "v14.40.33810.00", written by Microsoft's vc_redist installer) or, where that key is missing, from the DLLs'
own version resources in System32. The 2015-2022 runtime is version 14.30 and newer (14.0 to 14.29 are the 2015, 2017
and 2019 runtimes, which the VS 2022 builds of torch outgrew).
"""

from sd_doctor.core.text import T

MIN_VERSION = (14, 30)
DOWNLOAD = "https://aka.ms/vs/17/release/vc_redist.x64.exe"  # Microsoft's permanent link to the latest x64 runtime
TORCH_NEEDS_IT = (2, 4)


def version_tuple(text):
    parts = []
    for piece in str(text or "").lstrip("vV").split("."):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts) or None


def probe_facts(ctx):
    from sd_doctor.launcher import settings as launch_settings
    from sd_doctor.probes import torch_build

    try:
        runtime = ctx.host.vc_runtime()
    except Exception as exc:  # registry surprises: judged as unknown
        runtime = {"error": "%s: %s" % (exc.__class__.__name__, exc)}
    venv = None if ctx.options.no_venv else launch_settings.venv_path(ctx.webui_dir, ctx.launch)
    torch = torch_build.describe(ctx.webui_dir, ctx.launch["variables"], ctx.commandline_args or [], venv)
    return {"runtime": runtime, "torch_version": torch.get("torch_version"), "torch_source": torch.get("source")}


def _installed_version(runtime):
    """(version tuple or None, where it was read)."""
    reg = runtime.get("registry") or {}
    if reg.get("installed") == 1 and reg.get("version"):
        return version_tuple(reg["version"]), "registry"
    dll = (runtime.get("dlls") or {}).get("vcruntime140.dll") or {}
    if dll.get("version"):
        return version_tuple(dll["version"]), "vcruntime140.dll"
    return None, None


def judge(f, facts):
    vc = facts.get("vc") or {}
    runtime = vc.get("runtime")
    if not runtime or runtime.get("error"):
        return
    torch_version = version_tuple((vc.get("torch_version") or "").split("+")[0])
    needed = torch_version is None or torch_version[:2] >= TORCH_NEEDS_IT
    missing = [n for n, d in sorted((runtime.get("dlls") or {}).items()) if not d.get("exists")]
    version, where = _installed_version(runtime)
    dotted = ".".join(str(v) for v in version) if version else None
    problem = None
    if missing:
        problem = T("{m} missing from System32", "System32 中缺少 {m}", m=", ".join(missing))
    elif version is None:
        problem = T("its version cannot be read", "无法读取其版本")
    elif version[:2] < MIN_VERSION:
        problem = T("version {v} ({w}) is older than the 2015-2022 runtime (14.30)",
                    "版本 {v}（{w}）早于 2015-2022 运行库（14.30）", v=dotted, w=where)
    if problem is None:
        f.ok(T("Visual C++ 2015-2022 x64 runtime {v} ({w})", "Visual C++ 2015-2022 x64 运行库 {v}（{w}）", v=dotted,
               w=where))
        return
    what = T("torch {t}", "torch {t}", t=vc.get("torch_version")) if torch_version else T(
        "the torch the web UI installs", "web UI 将安装的 torch")
    message = T("The Visual C++ 2015-2022 x64 runtime is missing or too old ({p}): {w} fails to load with \"[WinError "
                "126] ... fbgemm.dll\".", "Visual C++ 2015-2022 x64 运行库缺失或过旧（{p}）：{w}加载时会报 \"[WinError 126] ..."
                " fbgemm.dll\"。", p=problem, w=what)
    advice = T("Install Microsoft's Visual C++ Redistributable (x64): {u}, then restart the web UI.",
               "安装微软的 Visual C++ 可再发行组件（x64）：{u}，然后重新启动 web UI。", u=DOWNLOAD)
    if needed:
        f.error(message, advice)
    else:
        f.warn(message, advice)
