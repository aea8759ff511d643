#!/usr/bin/env bash
# Rebuilds the bundled fonts from Debian's packages.
set -euo pipefail
cd "$(dirname "$0")"
command -v pyftsubset >/dev/null || pip install fonttools
pyftsubset /usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc --font-number=3 \
  --unicodes="U+0020-007E,U+00A0-017F,U+02C6-02DD,U+2000-206F,U+2100-214F,U+2150-218F,U+2190-21FF,U+2460-24FF,U+2E80-2FDF,U+3000-303F,U+3100-312F,U+31A0-31BF,U+3200-33FF,U+3400-4DBF,U+4E00-9FFF,U+F900-FAFF,U+FE30-FE4F,U+FF00-FFEF,U+20000-2FFFF" \
  --layout-features='*' --output-file=NotoSerifTC-Regular.otf
cp /usr/share/fonts/truetype/hanazono/HanaMinB.ttf HanaMinB.ttf
