#!/usr/bin/env bash
# Renders docs/screenshots/main-light.png and main-dark.png headless (Monocle, no display needed):
# the app on the tiny fixture model with wide.png, its token grid and an answer; and heatmap.png,
# heatmap-export.png (HeatmapUiTest).
set -euo pipefail
cd "$(dirname "$0")/.."
out="$PWD/docs/screenshots"
mkdir -p "$out"
mvn -B -q -pl tests -am verify -Dtest=ScreenshotsTest,HeatmapUiTest -Dsurefire.failIfNoSpecifiedTests=false -Dconvllava.screenshots="$out"
ls -l "$out"
