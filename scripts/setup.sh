#!/usr/bin/env bash
# Install what robocall-bench needs on Debian/Ubuntu: TTS engines and sox (apt), the package (pip).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
# g++: pyworld (WORLD vocoder) has no wheel for every platform and builds from source
apt_pkgs=(espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts sox libsox-fmt-all asterisk-core-sounds-en-wav libchromaprint-tools g++)
missing=()
for p in "${apt_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  echo "setup.sh: apt-get install ${missing[*]}"
  $SUDO apt-get install -y -q "${missing[@]}"
fi
python -m pip install -q -e ".[tts,slurm,dev,torch,train]"
# The Resemblyzer front-end (models/ge2e.py) uses only the GE2E weights inside the resemblyzer wheel (17 MB,
# Apache-2.0), not its code: --no-deps skips librosa + numba and webrtcvad (a C build from source whose
# module imports the removed pkg_resources). An extra cannot say --no-deps, hence this line.
python -m pip install -q --no-deps "resemblyzer==0.1.4"
