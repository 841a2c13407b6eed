#!/usr/bin/env bash
# Installer check for CI (Linux, root): build the .deb from the app that `mvn -B verify` just packaged,
# check that it declares the system libraries its natives need (GTK 3 ...), install it with apt (so the
# declared dependencies, and nothing installed here by hand, are what makes the app run), run the
# installed launcher's --self-test (bundled tiny model, then the repository's fixture), start the
# installed GUI under Xvfb, screenshot it and check the main window appeared, then uninstall. Every step
# has a timeout and a failure says which step and why. This script installs only the tools of the check
# itself (packaging, Xvfb, a screenshot tool), never a library the app needs at run time.
#   installer/ci-verify.sh            (from anywhere; needs app/target/convllava.jar + lib/)
# Artifacts (logs, screenshot): installer/target/ci/
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/installer/target/ci
PKG=convllava-desktop
LAUNCHER=/opt/convllava-desktop/bin/ConvLLaVA
TINY_ANSWER='reviewed乎uffixconvert tea época cryst suspectales runner teaiker᥀推store slä'
mkdir -p "$OUT"
XVFB_PID=
APP_PID=
STEP=start

cleanup() {
  [[ -n $APP_PID ]] && kill "$APP_PID" 2>/dev/null
  [[ -n $XVFB_PID ]] && kill "$XVFB_PID" 2>/dev/null
  if dpkg -s "$PKG" >/dev/null 2>&1; then timeout 120 dpkg -r "$PKG" >/dev/null 2>&1; fi
}
trap cleanup EXIT

fail() {
  echo "installer check FAILED at step '$STEP': $*" >&2
  for f in "$OUT"/*.log; do
    [[ -s $f ]] && { echo "---- tail of $f" >&2; tail -n 25 "$f" >&2; }
  done
  exit 1
}
step() { STEP=$1; echo "== installer check: $1"; }

step "tools"
need=()
command -v fakeroot >/dev/null || need+=(fakeroot)
command -v objdump >/dev/null || need+=(binutils)
command -v Xvfb >/dev/null || need+=(xvfb)
command -v xauth >/dev/null || need+=(xauth)
command -v import >/dev/null || need+=(imagemagick)
command -v unzip >/dev/null || need+=(unzip)
if (( ${#need[@]} )); then
  echo "installing ${need[*]}"
  timeout 600 apt-get update -q >"$OUT/apt.log" 2>&1 || fail "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends "${need[@]}" >>"$OUT/apt.log" 2>&1 \
    || fail "apt-get install ${need[*]} failed"
fi
[[ -f app/target/convllava.jar && -d app/target/lib ]] || fail "app/target/convllava.jar is missing: run mvn -B package (or verify) first"

step "build the .deb (jdeps, jlink, jpackage)"
version=$(sed -n 's:.*<version>\(.*\)</version>.*:\1:p' pom.xml | head -1)
t0=$(date +%s)
# the payload is mostly compressed already (jars, jlink --compress=2): gzip instead of dpkg's default xz
# costs ~5% in size and saves minutes; a release build (installer/build.sh) keeps xz
DPKG_DEB_COMPRESSOR_TYPE=${DPKG_DEB_COMPRESSOR_TYPE:-gzip} timeout 1800 java installer/src/BuildInstaller.java --root "$ROOT" --version "$version" --types deb >"$OUT/build.log" 2>&1 \
  || fail "jpackage build failed or timed out (see build.log)"
deb=$(ls installer/target/jpackage/packages/*.deb 2>/dev/null | head -1)
[[ -n $deb ]] || fail "no .deb in installer/target/jpackage/packages"
deb_mb=$(du -m "$deb" | cut -f1)
echo "built $(basename "$deb"): ${deb_mb} MiB in $(( $(date +%s) - t0 )) s"
grep -E '^(runtime|staged) ' "$OUT/build.log" | sed 's:/[^ ]*/::'

step "declared dependencies"
depends=$(dpkg-deb -f "$deb" Depends) || fail "dpkg-deb -f $deb Depends failed"
echo "Depends: $depends"
for lib in libgtk-3-0 libxtst6 libgl1 libpango-1.0-0 libfontconfig1; do
  grep -qE "(^|[ ,|])$lib([ ,|(]|$)" <<<"$depends" || fail "the .deb does not declare $lib (Depends: $depends): the app could not open its window on a fresh machine"
done
if dpkg -s libgtk-3-0 >/dev/null 2>&1 || dpkg -s libgtk-3-0t64 >/dev/null 2>&1; then
  echo "note: GTK 3 was already installed here; the Depends check above is what proves a fresh machine gets it"
else
  echo "GTK 3 is not installed yet: installing the .deb must bring it"
fi

step "install with apt-get install ./the.deb"
if dpkg -s "$PKG" >/dev/null 2>&1; then timeout 120 dpkg -r "$PKG" >/dev/null 2>&1; fi
timeout 600 apt-get update -q >>"$OUT/apt.log" 2>&1 || fail "apt-get update failed"
DEBIAN_FRONTEND=noninteractive timeout 1200 apt-get install -y -q "$(realpath "$deb")" >"$OUT/dpkg.log" 2>&1 \
  || fail "apt-get install $deb failed (see dpkg.log)"
dpkg -s "$PKG" >/dev/null 2>&1 || fail "package $PKG is not installed after apt-get install"
[[ -x $LAUNCHER ]] || fail "$LAUNCHER missing after install"
# every system library the JavaFX natives link against is there now (the GUI step below proves it works)
fxjar=$(ls /opt/convllava-desktop/lib/app/lib/javafx-graphics-*-linux*.jar 2>/dev/null | head -1)
[[ -n $fxjar ]] || fail "no javafx-graphics platform jar installed"
FXDIR=$(mktemp -d)
unzip -q -o -j "$fxjar" '*.so' -d "$FXDIR" || fail "could not extract the JavaFX natives from $fxjar"
for so in "$FXDIR"/*.so; do
  missing=$(ldd "$so" | grep 'not found')
  [[ -z $missing ]] || fail "$(basename "$so") needs libraries that are not installed: $missing"
done
rm -rf "$FXDIR"
echo "JavaFX natives: every library they link against is installed"
installed_mb=$(du -sm /opt/convllava-desktop | cut -f1)
echo "installed /opt/convllava-desktop: ${installed_mb} MiB"
desktop=$(dpkg -L "$PKG" | grep '\.desktop$' | head -1)
[[ -n $desktop ]] || fail "no .desktop entry installed"
grep -q '^MimeType=.*image/png' "$desktop" || fail "desktop entry $desktop has no image/png MimeType"
grep -q '^MimeType=.*image/webp' "$desktop" || fail "desktop entry $desktop has no image/webp MimeType"
grep -q '^Exec=.*%[fFuU]' "$desktop" || fail "desktop entry $desktop has no %f in Exec (Open with would not pass the file)"
echo "desktop entry $desktop: $(grep -E '^(Exec|MimeType|Categories)=' "$desktop" | tr '\n' ' ')"
if [[ -f /usr/share/applications/$(basename "$desktop") ]]; then
  echo "menu entry registered: /usr/share/applications/$(basename "$desktop")"
else
  echo "note: menu entry not registered by xdg-desktop-menu (no desktop menu directory on this machine): $(grep -o 'menu entry.*' "$OUT/dpkg.log" | head -1)"
fi

# a fresh home: DJL extracts libtorch from the bundled jar into its cache (~/.djl.ai) on the first
# start, offline; Java takes user.home from the password file, so DJL's cache and the app's XDG
# folders are pointed into it explicitly
APP_HOME=$(mktemp -d)
APP_ENV=(env HOME="$APP_HOME" DJL_CACHE_DIR="$APP_HOME/.djl.ai" XDG_CONFIG_HOME="$APP_HOME/.config" XDG_DATA_HOME="$APP_HOME/.local/share")

step "installed --self-test (bundled tiny model, first start)"
t0=$(date +%s%N)
"${APP_ENV[@]}" timeout 600 "$LAUNCHER" --self-test >"$OUT/selftest.log" 2>&1 || fail "--self-test exited non-zero"
first_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
grep -q '^self-test OK (answer as expected)' "$OUT/selftest.log" || fail "--self-test did not report the expected answer"
grep -qF "$TINY_ANSWER" "$OUT/selftest.log" || fail "--self-test printed another answer"
grep -q '^f16 matmul: Java Vector API kernel' "$OUT/selftest.log" || fail "--self-test: the installed JVM does not run the float16 kernel"
if grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && grep -qw f16c /proc/cpuinfo; then
  grep -q '^8/4-bit:    native int8' "$OUT/selftest.log" || fail "--self-test: the installed app does not load the native 8/4-bit kernels: $(grep '^8/4-bit' "$OUT/selftest.log")"
fi
grep -q '^pdf pages:  PDFBox .* rendered at 2048 x 1024' "$OUT/selftest.log" || fail "--self-test: the installed runtime cannot render a PDF page"
if grep -q '^f16 matmul: .*LoopUnrollLimit=' "$OUT/selftest.log"; then fail "--self-test: the launcher did not pass -XX:LoopUnrollLimit=40"; fi
ls "$APP_HOME"/.djl.ai/pytorch/*/libtorch_cpu.so >/dev/null 2>&1 || fail "libtorch was not extracted into the fresh DJL cache $APP_HOME/.djl.ai"
cat "$OUT/selftest.log"

step "installed --self-test --model tests/fixtures/tiny/tiny-convllava (second start)"
t0=$(date +%s%N)
"${APP_ENV[@]}" timeout 300 "$LAUNCHER" --self-test --model "$ROOT/tests/fixtures/tiny/tiny-convllava" >"$OUT/selftest2.log" 2>&1 \
  || fail "--self-test --model exited non-zero"
second_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
grep -q '^self-test OK (answer as expected)' "$OUT/selftest2.log" || fail "--self-test --model did not report the expected answer"
echo "self-test wall time: first start ${first_ms} ms (libtorch extracted), second ${second_ms} ms"

step "installed GUI under Xvfb"
Xvfb :99 -screen 0 1920x1080x24 -nolisten tcp >"$OUT/xvfb.log" 2>&1 &
XVFB_PID=$!
for _ in $(seq 50); do [[ -e /tmp/.X11-unix/X99 ]] && break; sleep 0.2; done
[[ -e /tmp/.X11-unix/X99 ]] || fail "Xvfb did not start"
t0=$(date +%s%N)
"${APP_ENV[@]}" DISPLAY=:99 "$LAUNCHER" >"$OUT/gui.log" 2>&1 &
APP_PID=$!
shown=
for _ in $(seq 1200); do   # up to 120 s
  if grep -q 'main window shown' "$OUT/gui.log"; then shown=1; break; fi
  kill -0 "$APP_PID" 2>/dev/null || break
  sleep 0.1
done
gui_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[[ -n $shown ]] || fail "the GUI did not log 'main window shown' within 120 s (or exited)"
sleep 3   # let the first frames render
DISPLAY=:99 timeout 30 import -window root "$OUT/gui.png" || fail "screenshot (import -window root) failed"
sd=$(timeout 30 convert "$OUT/gui.png" -colorspace Gray -format '%[fx:standard_deviation]' info:) || fail "could not measure the screenshot"
awk -v s="$sd" 'BEGIN { exit !(s > 0.02) }' || fail "the screenshot is uniform (stddev $sd): no window drawn"
echo "GUI: main window shown ${gui_ms} ms after launch ($(grep -o 'main window shown.*' "$OUT/gui.log")), screenshot $OUT/gui.png (grey stddev $sd)"
kill "$APP_PID" 2>/dev/null
for _ in $(seq 100); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.1; done
kill -9 "$APP_PID" 2>/dev/null
APP_PID=
kill "$XVFB_PID" 2>/dev/null
XVFB_PID=

step "uninstall with dpkg -r"
timeout 300 dpkg -r "$PKG" >>"$OUT/dpkg.log" 2>&1 || fail "dpkg -r failed"
[[ ! -e $LAUNCHER ]] || fail "$LAUNCHER still there after dpkg -r"
timeout 120 dpkg --purge "$PKG" >>"$OUT/dpkg.log" 2>&1 || true   # forget the package's "config-files" state too
rm -rf "$APP_HOME"

echo "installer check: deb ${deb_mb} MiB, installed ${installed_mb} MiB, self-test ${first_ms}/${second_ms} ms (first/second start), GUI window ${gui_ms} ms"
echo "installer check: all steps passed"
