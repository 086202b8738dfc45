#!/usr/bin/env bash
# make demo: the 2021 prototype walkthrough (shared/seed/prototype-walkthrough.md)
# with signet alone, against signet's embedded registry on a free loopback port.
# Every step prints what it replaces; the registry is stopped at the end and
# nothing is left running.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib.sh"
signet="${SIGNET_BIN:-$root/bin/signet}"
work=$(mktemp -d)
reg_pid=""
cleanup() {
	if [[ -n "$reg_pid" ]]; then
		kill "$reg_pid" 2>/dev/null || true
		wait "$reg_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

# Bold headings on a terminal only: a log or a pipe gets plain text.
bold=""; plain=""
if [[ -t 1 && -z "${NO_COLOR:-}" && "${TERM:-dumb}" != dumb ]]; then
	bold=$(tput bold 2>/dev/null || true); plain=$(tput sgr0 2>/dev/null || true)
fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "Run a local registry (was: the patched 2021 prototype registry)"
# Port 0: the registry picks a free port and prints its URL once it listens
# (no race with another process for a port chosen in advance).
"$signet" registry serve --memory --addr 127.0.0.1:0 >"$work/url" 2>"$work/registry.log" &
reg_pid=$!
for _ in $(seq 1 600); do
	[[ -s "$work/url" ]] && break
	if ! kill -0 "$reg_pid" 2>/dev/null; then
		echo "signet registry serve exited before listening:" >&2
		cat "$work/registry.log" >&2
		exit 1
	fi
	sleep 0.1
done
if [[ ! -s "$work/url" ]]; then
	echo "signet registry serve did not listen within 60 s:" >&2
	cat "$work/registry.log" >&2
	exit 1
fi
url=$(head -n 1 "$work/url")
port=${url##*:}; port=${port%%/*}
wait_http "http://127.0.0.1:$port/v2/"
echo "signet registry serve --memory --addr 127.0.0.1:0 → 127.0.0.1:$port  (pid $reg_pid)"

regIp="127.0.0.1"; registry="$regIp:$port"; repo="busybox"; tag="latest"
image="$repo:$tag"; reference="$registry/$image"

step "Push an image to your registry (was: docker pull, docker tag, docker push)"
run "$signet" copy "oci-layout:$root/testdata/oci-layout:latest" "$reference"

step "Generate a key and a certificate for $regIp (was: openssl req -x509 …)"
run "$signet" generate cert --key-out example.key --cert-out example.crt \
	--subject "/CN=$regIp/O=example inc/C=IN/ST=Haryana/L=Gurgaon" --ip "$regIp"

step "Generate the image manifest to sign (was: docker generate manifest \$image)"
manifestFile="manifest-to-sign.json"
run "$signet" generate manifest "$reference" -o "$manifestFile"

step "Sign the manifest as an x509 JWT (was: nv2 sign --method x509 …)"
signatureFile="manifest-signature.jwt"
run "$signet" sign -k example.key -c example.crt -r "$reference" -o "$signatureFile" "file:$manifestFile"

step "Obtain manifest and signature digests (was: sha256sum)"
manifestDigest=$("$signet" generate manifest "$registry/$repo:$tag" -o "$manifestFile" 2>/dev/null)
echo "manifestDigest=$manifestDigest"
signatureDigest="sha256:$(sha256sum "$signatureFile" | cut -d' ' -f1)"
echo "signatureDigest=$signatureDigest"

step "Create the artifact file pointing the signature at the manifest (was: cat <<EOF > artifact.json)"
artifactFile="artifact.json"
run "$signet" generate artifact --signature "$signatureFile" --manifest "$manifestFile" -o "$artifactFile"
cat "$artifactFile"

step "Push the signature and the artifact (was: curl POST/PUT blob, curl PUT manifest)"
run "$signet" push-signature --signature "$signatureFile" --artifact "$artifactFile" "$registry/$repo@$manifestDigest"

step "Retrieve the signatures of the manifest as referrers (was: curl …/links?artifact-type=… | jq)"
run "$signet" discover "$registry/$repo@$manifestDigest" --artifact-type application/vnd.cncf.notary.v2

step "Retrieve the signature (was: curl …/blobs/\$signatureDigest > retrieved-signature.json)"
retrieved=$("$signet" pull-signature "$registry/$repo@$manifestDigest" -o retrieved | head -n1)
echo "$retrieved"
cp "$retrieved" retrieved-signature.json

step "Verify the signature (was: nv2 verify -f … -c example.crt file:\$manifestFile)"
run "$signet" verify -f retrieved-signature.json -c example.crt "file:$manifestFile"

step "Or find, fetch and verify every signature in one step"
run "$signet" verify "$registry/$repo@$manifestDigest" -c example.crt

step "Done: the walkthrough ran with one binary. Stopping the registry."
