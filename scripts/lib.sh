# Shared by scripts/run and scripts/test: system packages and the virtualenv.
# shellcheck shell=bash

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Install the Debian packages that are missing, with apt-get, once.
ensure_packages() {
  local missing=()
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> apt-get install ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# A python3 that can make virtualenvs: Debian's python3 needs python3-venv for that.
ensure_python() {
  if ! command -v python3 >/dev/null 2>&1; then
    ensure_packages python3 python3-venv
  fi
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    ensure_packages python3-venv
  fi
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "qmonth needs Python 3.11 or newer; found $(python3 --version)" >&2
    exit 1
  }
}

# WeasyPrint needs Pango; HarfBuzz subsetting keeps PDF rendering fast.
RUNTIME_PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 shared-mime-info)

ensure_venv() {
  ensure_python
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv"
    python3 -m venv .venv
  fi
  local stamp=.venv/.requirements.sha256
  local want
  want=$(sha256sum requirements.txt | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "==> installing Python dependencies"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -r requirements.txt
    echo "$want" > "$stamp"
  fi
}
