@rem Launch settings of the web UI. webui.bat (v1.7 and later) calls this file first, before its own defaults,
@rem and this file survives updaters that overwrite webui-user.bat. Never call webui.bat from here: webui.bat
@rem calls this file, so that would start it again and again.
