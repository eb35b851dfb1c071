#!/bin/sh
# The image's entry point: `voicegate serve` (or any other voicegate command given). On the first
# start with an empty volume it writes a config and certificate there, listening on every
# interface (inside a container, 127.0.0.1 would reach nobody).
set -eu
VOICEGATE="node /opt/voicegate/bin/voicegate.js"
if [ "${1:-serve}" = serve ] && [ ! -f "$VOICEGATE_CONFIG" ]; then
  $VOICEGATE init --dir "$(dirname "$VOICEGATE_CONFIG")"
  sed -i 's/^\(  host: \)127\.0\.0\.1/\10.0.0.0/' "$VOICEGATE_CONFIG"
fi
exec $VOICEGATE "$@"
