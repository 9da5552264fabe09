#!/usr/bin/env bash
# Fetches Mesa's Vulkan CPU driver (lavapipe, Mesa 25 from Debian bookworm-backports, which Dawn
# accepts and which has shader-f16 and subgroups) into DIR (default /tmp/kts-lavapipe) without
# touching the system, and prints the two variables that point Dawn at it:
#   eval "$(bash bench/gpu/lavapipe.sh)" && npm test
# Debian/Ubuntu amd64 with apt; see bench/gpu/README.md.
set -eu
dir=${1:-/tmp/kts-lavapipe}
icd=$dir/root/usr/share/vulkan/icd.d/lvp_icd.json
if [ ! -f "$icd" ]; then
  mkdir -p "$dir/lists/partial"
  printf 'deb http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian bookworm-backports main\n' > "$dir/sources.list"
  o="-o Dir::Etc::sourcelist=$dir/sources.list -o Dir::Etc::sourceparts=- -o Dir::State::Lists=$dir/lists"
  apt-get $o update >/dev/null
  (cd "$dir" && apt-get $o download mesa-vulkan-drivers/bookworm-backports libdrm2/bookworm-backports libvulkan1 >/dev/null 2>&1)
  for f in "$dir"/*.deb; do dpkg -x "$f" "$dir/root"; done
  sed -i "s#\"library_path\": \".*\"#\"library_path\": \"$dir/root/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so\"#" "$icd"
fi
echo "export VK_ICD_FILENAMES=$icd LD_LIBRARY_PATH=$dir/root/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
