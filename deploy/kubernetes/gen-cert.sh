#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# Make the webhook's serving certificate and a kustomize overlay that
# deploys capgate with it: the Secret capgate-webhook-tls and caBundle
# filled into both webhook configurations. Then: kubectl apply -k OUT
#
#   gen-cert.sh [--out DIR] [--namespace NS] [--service NAME] [--days N] [--force]
#
# The certificate is ECDSA P-256, signed by a CA of its own (kept in OUT,
# ca.key mode 0600: keep OUT private), for the Service's DNS names
# (NAME, NAME.NS, NAME.NS.svc, NAME.NS.svc.cluster.local).
#
# Idempotent: a run keeps the CA and certificate it finds when they still
# match (same names, the certificate signed by the CA, more than 30 days
# left) and rewrites the overlay from them; --force makes new ones. No
# partial output: everything is made in a temporary directory beside OUT
# and moved into place only when every step succeeded.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$PWD/capgate-deploy
ns=capgate-system
svc=capgate-webhook
days=365
force=0

die() { echo "gen-cert.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=${2:?--out needs a directory}; shift 2 ;;
	--namespace) ns=${2:?--namespace needs a name}; shift 2 ;;
	--service) svc=${2:?--service needs a name}; shift 2 ;;
	--days) days=${2:?--days needs a number}; shift 2 ;;
	--force) force=1; shift ;;
	-h|--help) sed -n '3,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done
label='^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'
[[ $ns =~ $label ]] || die "--namespace '$ns' is not a valid namespace name"
[[ $svc =~ $label ]] || die "--service '$svc' is not a valid service name"
[[ $days =~ ^[0-9]+$ ]] && [ "$days" -ge 31 ] && [ "$days" -le 3650 ] || die "--days must be a number from 31 to 3650"
command -v openssl >/dev/null || die "openssl is not installed"

names=("$svc" "$svc.$ns" "$svc.$ns.svc" "$svc.$ns.svc.cluster.local")
san=$(printf 'DNS:%s,' "${names[@]}"); san=${san%,}

mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
tmp=$(mktemp -d "$out.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 700 "$tmp"

# Is the certificate in $1 still good: signed by $1/ca.crt, for exactly
# these names, with more than 30 days left?
still_good() {
	local d=$1 have want
	[ -s "$d/ca.key" ] && [ -s "$d/ca.crt" ] && [ -s "$d/tls.key" ] && [ -s "$d/tls.crt" ] || return 1
	openssl verify -CAfile "$d/ca.crt" "$d/tls.crt" >/dev/null 2>&1 || return 1
	openssl x509 -in "$d/tls.crt" -noout -checkend $((30 * 86400)) >/dev/null 2>&1 || return 1
	have=$(openssl x509 -in "$d/tls.crt" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr -d ' \n')
	want=$(printf 'DNS:%s,' "${names[@]}"); want=${want%,}
	[ "$have" = "$want" ] || return 1
	# the key is the certificate's
	[ "$(openssl pkey -in "$d/tls.key" -pubout 2>/dev/null)" = "$(openssl x509 -in "$d/tls.crt" -noout -pubkey)" ]
}

if [ $force = 0 ] && still_good "$out"; then
	cp -p "$out/ca.key" "$out/ca.crt" "$out/tls.key" "$out/tls.crt" "$tmp/"
	echo "gen-cert.sh: keeping the certificate in $out (valid for ${names[*]})" >&2
else
	(umask 077
	 openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ca.key" 2>/dev/null
	 openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/tls.key" 2>/dev/null)
	openssl req -x509 -new -key "$tmp/ca.key" -sha256 -days 3650 -subj "/CN=capgate webhook CA" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		-out "$tmp/ca.crt" 2>/dev/null
	openssl req -new -key "$tmp/tls.key" -sha256 -subj "/CN=$svc.$ns.svc" -out "$tmp/tls.csr" 2>/dev/null
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' \
		"$san" >"$tmp/ext.cnf"
	openssl x509 -req -in "$tmp/tls.csr" -CA "$tmp/ca.crt" -CAkey "$tmp/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
		-sha256 -days "$days" -extfile "$tmp/ext.cnf" -out "$tmp/tls.crt" 2>/dev/null
	rm -f "$tmp/tls.csr" "$tmp/ext.cnf"
	still_good "$tmp" || die "the new certificate does not verify (openssl $(openssl version))"
	echo "gen-cert.sh: made a certificate for ${names[*]}, valid $days days" >&2
fi
chmod 600 "$tmp/ca.key" "$tmp/tls.key"
chmod 644 "$tmp/ca.crt" "$tmp/tls.crt"

ca_b64=$(base64 -w0 <"$tmp/ca.crt")
base=$(realpath --relative-to="$out" "$here")
cat >"$tmp/kustomization.yaml" <<EOT
# Made by gen-cert.sh: capgate with its serving certificate. Re-run
# gen-cert.sh to renew; apply with: kubectl apply -k $(basename "$out")
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $base
secretGenerator:
  - name: $svc-tls
    namespace: $ns
    type: kubernetes.io/tls
    files:
      - tls.crt
      - tls.key
    options:
      disableNameSuffixHash: true
patches:
  - target:
      kind: MutatingWebhookConfiguration
      name: capgate
    patch: |-
      - op: add
        path: /webhooks/0/clientConfig/caBundle
        value: $ca_b64
  - target:
      kind: ValidatingWebhookConfiguration
      name: capgate
    patch: |-
      - op: add
        path: /webhooks/0/clientConfig/caBundle
        value: $ca_b64
EOT

# Swap the finished directory in.
if [ -e "$out" ]; then
	old=$(mktemp -d "$out.old.XXXXXX")
	rmdir "$old"
	mv "$out" "$old"
	mv "$tmp" "$out"
	rm -rf "$old"
else
	mv "$tmp" "$out"
fi
trap - EXIT
echo "$out"
