"""windows: the operating system itself: Windows 10 or newer, long paths, RAM plus page file.

On Linux and macOS the same id checks RAM plus swap (webui-facts.md §9).
"""

from sd_doctor.checks._common import gib
from sd_doctor.core.finding import Finding
from sd_doctor.core.text import T

ID = "windows"
TITLE = T("Operating system and memory", "操作系统与内存")

GB = 1024 ** 3
RECOMMENDED_RAM = 16 * GB
LONG_PATHS_COMMAND = ("reg add HKLM\\SYSTEM\\CurrentControlSet\\Control\\FileSystem /v LongPathsEnabled "
                      "/t REG_DWORD /d 1 /f")


def probe(ctx):
    facts = {"platform": ctx.platform, "os": ctx.host.os_version(), "long_paths_enabled": ctx.host.long_paths_enabled()}
    try:
        facts["memory"] = ctx.host.memory()
    except Exception as exc:  # psutil missing or failing: judged as unknown
        facts["memory"] = {"error": "%s: %s" % (exc.__class__.__name__, exc)}
    if ctx.platform == "windows":
        from sd_doctor.checks import _vc_runtime

        facts["vc"] = _vc_runtime.probe_facts(ctx)
    return facts


def _judge_windows(f, facts):
    os_facts = facts.get("os") or {}
    major = os_facts.get("major")
    # The DLL came with Windows 8 (6.2): only Windows 7 and older lack it (webui-facts.md §9).
    if major is not None and (major, os_facts.get("minor") or 0) < (6, 2):
        f.error(T("Windows {v} is older than Windows 10: Python 3.9 and newer fail with "
                  "\"api-ms-win-core-path-l1-1-0.dll is missing\".",
                  "Windows {v} 早于 Windows 10：Python 3.9 及以上会报 \"api-ms-win-core-path-l1-1-0.dll is missing\"。",
                  v=os_facts.get("release") or "%s.%s" % (major, os_facts.get("minor", 0))),
                T("Upgrade to Windows 10 or 11. The guide's workaround: download "
                  "api-ms-win-core-path-blender-0.3.1.zip (github.com/nalexandru/api-ms-win-core-path-HACK), copy "
                  "x64.dll to C:\\Windows\\System32 and x86.dll to C:\\Windows\\SysWOW64 (as "
                  "api-ms-win-core-path-l1-1-0.dll), then restart.",
                  "升级到 Windows 10 或 11。教程中的变通办法：下载 api-ms-win-core-path-blender-0.3.1.zip"
                  "（github.com/nalexandru/api-ms-win-core-path-HACK），把 x64.dll 复制到 C:\\Windows\\System32、"
                  "x86.dll 复制到 C:\\Windows\\SysWOW64（均命名为 api-ms-win-core-path-l1-1-0.dll），然后重启。"))
    elif major is not None:
        # The release name the host computed ("11" for 10.0 build 22000+, "8.1" for 6.3), never the kernel's major.
        f.ok(T("Windows {v} (build {b})", "Windows {v}（版本号 {b}）", v=os_facts.get("release") or major,
               b=os_facts.get("build")))
    lp = facts.get("long_paths_enabled")
    if lp is False or lp is None:
        f.warn(T("Long paths are not enabled: deep files in the venv can fail with [WinError 206].",
                 "未启用长路径：venv 中较深的文件可能报 [WinError 206]。"),
               T("As administrator: {c}", "以管理员身份运行：{c}", c=LONG_PATHS_COMMAND))
    mem = facts.get("memory") or {}
    ram = mem.get("ram_total")
    if ram is None:
        f.add("ok", T("RAM could not be read: {e}", "无法读取内存信息：{e}", e=mem.get("error", "?")))
        return
    managed = mem.get("swap_system_managed")
    if ram < RECOMMENDED_RAM and not managed:
        f.warn(T("{r} of RAM and no system-managed page file: loading a model can fail with \"DefaultCPUAllocator: "
                 "not enough memory\" or \"[WinError 1455] The paging file is too small\".",
                 "内存 {r} 且页面文件不是系统管理：加载模型可能报 \"DefaultCPUAllocator: not enough memory\" 或 "
                 "\"[WinError 1455] 页面文件太小\"。", r=gib(ram)),
               T("System Properties > Advanced > Performance Settings > Advanced > Virtual memory: choose "
                 "\"System managed size\" (run SystemPropertiesPerformance.exe).",
                 "系统属性 > 高级 > 性能设置 > 高级 > 虚拟内存：选择“系统管理的大小”（运行 SystemPropertiesPerformance.exe）。"))
    else:
        f.ok(T("RAM {r}", "内存 {r}", r=gib(ram)))


def _judge_posix(f, facts):
    mem = facts.get("memory") or {}
    ram = mem.get("ram_total")
    if ram is None:
        f.skip(T("RAM could not be read: {e}", "无法读取内存信息：{e}", e=mem.get("error", "?")))
        return
    swap = mem.get("swap_total") or 0
    if ram + swap < RECOMMENDED_RAM:
        f.warn(T("{r} of RAM plus {s} of swap is under 16 GB: loading a model can be killed for lack of memory.",
                 "内存 {r} 加交换空间 {s} 不足 16 GB：加载模型时可能因内存不足被终止。", r=gib(ram), s=gib(swap)),
               T("Add swap: sudo fallocate -l 16G /swapfile && sudo chmod 600 /swapfile && sudo mkswap /swapfile "
                 "&& sudo swapon /swapfile",
                 "增加交换空间：sudo fallocate -l 16G /swapfile && sudo chmod 600 /swapfile && sudo mkswap /swapfile "
                 "&& sudo swapon /swapfile"))
    else:
        f.ok(T("RAM {r}, swap {s}", "内存 {r}，交换空间 {s}", r=gib(ram), s=gib(swap)))


def judge(facts):
    f = Finding(ID, TITLE)
    if facts["platform"] == "windows":
        from sd_doctor.checks import _vc_runtime

        _judge_windows(f, facts)
        _vc_runtime.judge(f, facts)
    else:
        _judge_posix(f, facts)
    return f
