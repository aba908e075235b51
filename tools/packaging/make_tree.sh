#!/usr/bin/env bash
# Lays out rewire's install tree and packs it into one tar (the genrule
# //tools:install_tree; tools/install.sh unpacks it under a prefix).
# Usage: make_tree.sh OUT.tar ABI HEADER LIBSO REWIRE PC.in CONFIG.in VERSION.in
set -euo pipefail
out=$1 abi=$2 header=$3 libso=$4 program=$5 pc_in=$6 config_in=$7 version_in=$8

# The version has one definition, in the header.
version=$(sed -n 's/^#define REWIRE_VERSION "\(.*\)"$/\1/p' "$header")
header_abi=$(sed -n 's/^#define REWIRE_ABI_VERSION \([0-9]*\)$/\1/p' "$header")
if [[ -z "$version" || "$header_abi" != "$abi" ]]; then
  echo "make_tree.sh: $header defines version '$version' and ABI '$header_abi'; the build says ABI $abi" >&2
  exit 1
fi

tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree"/{include/rewire,lib/pkgconfig,lib/cmake/rewire,bin}
cp "$header" "$tree/include/rewire/rewire.h"
# Stripped: the symbol tables are most of the size and help no consumer.
strip --strip-unneeded -o "$tree/lib/librewire.so.$abi" "$libso"
ln -s "librewire.so.$abi" "$tree/lib/librewire.so"
strip -o "$tree/bin/rewire" "$program"
chmod 0755 "$tree/bin/rewire" "$tree/lib/librewire.so.$abi"
chmod 0644 "$tree/include/rewire/rewire.h"
substitute() {
  sed -e "s/@VERSION@/$version/g" -e "s/@ABI@/$abi/g" "$1" >"$2"
}
substitute "$pc_in" "$tree/lib/pkgconfig/rewire.pc"
substitute "$config_in" "$tree/lib/cmake/rewire/rewireConfig.cmake"
substitute "$version_in" "$tree/lib/cmake/rewire/rewireConfigVersion.cmake"
tar -C "$tree" --owner=0 --group=0 --numeric-owner --sort=name --mtime=@0 -cf "$out" bin include lib
