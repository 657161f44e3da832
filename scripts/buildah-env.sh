# Shared settings of the image scripts (sourced, not run): buildah keeps its images in the cache
# folder, next to the binaries, so a fresh clone on the same machine reuses them.
CACHE_ROOT="${HOTDESK_CACHE_DIR:-$HOME/.cache/hotdesk-operator}"
BUILDAH=(buildah --root "$CACHE_ROOT/containers/storage" --runroot /run/hotdesk-buildah --storage-driver overlay)
# The stand-in for the Dockerfile's node:24-bookworm-slim, made by build-base-image.sh.
BASE_IMAGE=localhost/node:24-bookworm-slim
