# The prototype walkthrough's shell steps from "Obtain manifest and signature
# digests" to the blob GET, copied verbatim from prototype-walkthrough.md
# (only the final `nv2 verify` is left out). walkthrough_test.go defines
# $registry, $repo, $manifestFile and $signatureFile first, as the earlier
# steps of the walkthrough did.

manifestDigest="sha256:$(sha256sum $manifestFile | cut -d " " -f 1)" && \
  signatureDigest="sha256:$(sha256sum $signatureFile | cut -d " " -f 1)"

artifactFile="artifact.json" && \
  artifactMediaType="application/vnd.oci.artifact.manifest.v1+json" && \
  artifactType="application/vnd.cncf.notary.v2" && \
  configMediaType="application/vnd.cncf.notary.config.v2+jwt" && \
  signatureFileSize=`wc -c < $signatureFile` && \
  manifestMediaType="$(cat $manifestFile | jq -r '.mediaType')" && \
  manifestFileSize=`wc -c < $manifestFile`

cat <<EOF > $artifactFile
{
  "schemaVersion": 2,
  "mediaType": "$artifactMediaType",
  "artifactType": "$artifactType",
  "config": {
    "mediaType": "$configMediaType",
    "digest": "$signatureDigest",
    "size": $signatureFileSize
  },
  "manifests": [
    {
      "mediaType": "$manifestMediaType",
      "digest": "$manifestDigest",
      "size": $manifestFileSize
    }
  ]
}
EOF

artifactDigest="sha256:$(sha256sum $artifactFile | cut -d " " -f 1)"

# Initiate blob upload and obtain PUT location
configPutLocation=`curl -I -X POST -s http://$registry/v2/$repo/blobs/uploads/ | grep "Location: " | sed -e "s/Location: //;s/$/\&digest=$signatureDigest/;s/\r//"`

# Push signature blob
curl -X PUT -H "Content-Type: application/octet-stream" --data-binary @"$signatureFile" $configPutLocation

# Push artifact
curl -X PUT --data-binary @"$artifactFile" -H "Content-Type: $artifactMediaType" "http://$registry/v2/$repo/manifests/$artifactDigest"

# Retrieve linked artifacts
curl -s "http://$registry/v2/_ext/oci-artifacts/v1/$repo/manifests/$manifestDigest/links?artifact-type=$artifactType" | jq

# Retrieve signature digest from first artifact.
signatureDigest=`curl -s "http://$registry/v2/_ext/oci-artifacts/v1/$repo/manifests/$manifestDigest/links?artifact-type=$artifactType" | jq -r '.links[0].config.digest'` && \
  retrievedSignatureFile="retrieved-signature.json" && \
  curl -s http://$registry/v2/$repo/blobs/$signatureDigest > $retrievedSignatureFile
