#!/bin/bash
# Launch settings of the web UI: webui.sh reads this file from its own folder before it starts.
# Lines that start with # are examples and have no effect.

# Python interpreter that creates the venv (default: python3.10 when there is one, else python3)
#python_cmd="python3.10"

# Folder of the venv, relative to the web UI folder; "-" runs without a venv
#venv_dir="venv"

# Command-line arguments of the web UI, e.g. "--medvram --xformers"
#export COMMANDLINE_ARGS=""

# git executable used by the web UI
#export GIT="git"
