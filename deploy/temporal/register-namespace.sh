#!/bin/sh
# The temporal-namespace job (temporalio/admin-tools): the namespace Opsflow runs in and its search attributes,
# given as NAME=Type arguments (docker-compose.yml lists Opsflow's). Safe to repeat.
set -eu
namespace="${TEMPORAL_NAMESPACE:-default}"
if ! temporal operator namespace describe --namespace "$namespace" >/dev/null 2>&1; then
  # A repeated create (the namespace exists but was not described yet) fails harmlessly; the wait below decides.
  temporal operator namespace create --namespace "$namespace" --retention "${TEMPORAL_RETENTION:-30d}" || true
fi
# A new namespace reaches the frontend's cache after a few seconds; until then it is "not found".
waited=0
until temporal operator search-attribute list --namespace "$namespace" >/dev/null 2>&1; do
  waited=$((waited + 1))
  if [ "$waited" -gt 60 ]; then
    echo "namespace $namespace is not usable after 60 s" >&2
    exit 1
  fi
  sleep 1
done
for attribute in "$@"; do
  name=${attribute%%=*}
  type=${attribute#*=}
  if temporal operator search-attribute list --namespace "$namespace" | grep -qw "$name"; then
    echo "search attribute $name exists"
  else
    temporal operator search-attribute create --namespace "$namespace" --name "$name" --type "$type"
  fi
done
echo "namespace $namespace is ready"
