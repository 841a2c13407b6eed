#!/usr/bin/env bash
# Builds the installer for this OS: the app (mvn package), then the jlink-ed runtime, the app image
# and the native package(s) with jpackage. Same as `mvn -B -Pinstaller package -DskipTests`.
#   installer/build.sh [--types app-image,deb,rpm,msi,dmg] [--no-app-build]
# Output: installer/target/jpackage/{image,packages}/
set -euo pipefail
cd "$(dirname "$0")/.."
build_app=1
args=()
for a in "$@"; do
  if [[ $a == --no-app-build ]]; then build_app=0; else args+=("$a"); fi
done
if (( build_app )); then
  mvn -B -q package -DskipTests
fi
version=$(sed -n 's:.*<version>\(.*\)</version>.*:\1:p' pom.xml | head -1)
exec java installer/src/BuildInstaller.java --root . --version "$version" "${args[@]}"
