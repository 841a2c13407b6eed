#!/usr/bin/env bash
# Builds the installer for this OS: the app (mvn package), then the jlink-ed runtime, the app image
# and the native package(s) with jpackage. Same as `mvn -B -Pinstaller package -DskipTests`.
#   installer/build.sh [--types app-image,deb,rpm,msi,dmg] [--no-app-build] [--flavor cpu|cuda]
# --flavor cuda: the GPU build (mvn -Pcuda: libtorch 2.5.1 with CUDA 12.4, ~4 GB installed), package
# convllava-desktop-cuda (README.md, "GPU build").
# Output: installer/target/jpackage/{image,packages}/
set -euo pipefail
cd "$(dirname "$0")/.."
build_app=1
flavor=cpu
args=()
while (( $# )); do
  case $1 in
    --no-app-build) build_app=0 ;;
    --flavor) flavor=${2:?--flavor needs cpu or cuda}; shift ;;
    *) args+=("$1") ;;
  esac
  shift
done
profile=()
case $flavor in
  cpu) ;;
  cuda) profile=(-Pcuda) ;;
  *) echo "--flavor $flavor: cpu or cuda" >&2; exit 2 ;;
esac
if (( build_app )); then
  mvn -B -q "${profile[@]}" package -DskipTests
fi
version=$(sed -n 's:.*<version>\(.*\)</version>.*:\1:p' pom.xml | head -1)
exec java installer/src/BuildInstaller.java --root . --version "$version" --flavor "$flavor" "${args[@]}"
