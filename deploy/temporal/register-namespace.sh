#!/bin/sh
# The temporal-namespace job (temporalio/admin-tools): the namespace Opsflow runs in and its search attributes,
# given as NAME=Type arguments (docker-compose.yml lists Opsflow's). Safe to repeat.
set -eu
namespace="${TEMPORAL_NAMESPACE:-default}"
temporal operator namespace describe --namespace "$namespace" >/dev/null 2>&1 ||
  temporal operator namespace create --namespace "$namespace" --retention "${TEMPORAL_RETENTION:-30d}"
for attribute in "$@"; do
  name=${attribute%%=*}
  type=${attribute#*=}
  if temporal operator search-attribute list --namespace "$namespace" | grep -qw "$name"; then
    echo "search attribute $name exists"
  else
    temporal operator search-attribute create --namespace "$namespace" --name "$name" --type "$type"
  fi
done
