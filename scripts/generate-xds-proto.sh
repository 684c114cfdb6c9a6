#!/usr/bin/env bash
# Regenerates Generated/SkiffXDSProto (*.pb.swift, *.grpc.swift) from Skiff's hand-written xDS protos in Protos/xds.
# Run it by hand after editing a .proto, then commit the .proto, the generated code and nothing else; CI never runs it
# (building the plugins takes minutes).
#
# Needs:
#   - protoc (Debian: apt-get install protobuf-compiler); google/protobuf/*.proto come from /usr/include, or set
#     PROTOC_INCLUDE to another folder holding google/protobuf (swift-protobuf's Protos/ folder does too).
#   - the plugins protoc-gen-swift (apple/swift-protobuf 1.39.0) and protoc-gen-grpc-swift-2
#     (grpc/grpc-swift-protobuf 2.4.1), the same versions Package.swift resolves. By default this script builds them
#     in .build-protoc/plugins, a scratch package outside the build (gitignored); set PLUGIN_DIR to use others.
# Then it runs scripts/check-xds-proto-fields.py, which compares every field number with PyPI's xds-protos, unless
# SKIP_FIELD_CHECK=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PROTOS=Protos/xds
OUT=Generated/SkiffXDSProto
PROTOC_INCLUDE=${PROTOC_INCLUDE:-/usr/include}

if [[ -z "${PLUGIN_DIR:-}" ]]; then
    SCRATCH=$ROOT/.build-protoc/plugins
    mkdir -p "$SCRATCH/Sources/Dummy"
    echo 'public let dummy = 0' > "$SCRATCH/Sources/Dummy/Dummy.swift"
    cat > "$SCRATCH/Package.swift" <<'PKG'
// swift-tools-version:6.1
// Scratch package: builds the protoc plugins for scripts/generate-xds-proto.sh (never committed).
import PackageDescription
let package = Package(
    name: "xds-protoc-plugins",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "2.4.1"),
    ],
    targets: [.target(name: "Dummy")]
)
PKG
    (cd "$SCRATCH" && swift build --product protoc-gen-swift && swift build --product protoc-gen-grpc-swift-2)
    PLUGIN_DIR=$(cd "$SCRATCH" && swift build --show-bin-path)
fi

mapfile -t FILES < <(cd "$PROTOS" && find . -name '*.proto' | sed 's|^\./||' | sort)
rm -f "$OUT"/*.pb.swift "$OUT"/*.grpc.swift
mkdir -p "$OUT"
protoc -I "$PROTOS" -I "$PROTOC_INCLUDE" \
    --plugin=protoc-gen-swift="$PLUGIN_DIR/protoc-gen-swift" \
    --swift_out="$OUT" --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores \
    "${FILES[@]}"
# Only the files that declare a service get gRPC stubs (the plugin writes nothing for the others).
mapfile -t SERVICES < <(cd "$PROTOS" && grep -l '^service ' "${FILES[@]}")
protoc -I "$PROTOS" -I "$PROTOC_INCLUDE" \
    --plugin=protoc-gen-grpc-swift-2="$PLUGIN_DIR/protoc-gen-grpc-swift-2" \
    --grpc-swift-2_out="$OUT" --grpc-swift-2_opt=Visibility=Public,FileNaming=PathToUnderscores,Client=true,Server=true \
    "${SERVICES[@]}"
echo "generated: $(ls "$OUT" | wc -l) files in $OUT"

if [[ "${SKIP_FIELD_CHECK:-0}" != 1 ]]; then
    python3 scripts/check-xds-proto-fields.py
fi
