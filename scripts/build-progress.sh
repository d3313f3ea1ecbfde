# Condensed, live `dotnet build` output for run.sh: one line per restored and per built project with the seconds
# since the start, errors as they come, the full log kept in a file. Sourced; `build_with_progress LOG ARGS…`.
build_progress() {
  local start=$SECONDS line name path
  while IFS= read -r line; do
    case "$line" in
      *"Restored "*)
        path="${line##*Restored }"; path="${path%% (*}"
        printf '  [%4ss] restored %s\n' "$((SECONDS - start))" "$(basename "$path" .csproj)" ;;
      *" -> "*)
        name="${line%% -> *}"; name="${name##* }"
        printf '  [%4ss] built %s\n' "$((SECONDS - start))" "$name" ;;
      *": error "*) printf '  %s\n' "$line" ;;
    esac
  done
}

build_with_progress() {
  local log="$1"; shift
  local start=$SECONDS
  echo "building $* (the first build restores packages and takes a few minutes; full log: $log)"
  # The build's own status, with or without the caller's pipefail.
  if dotnet build "$@" -nologo 2>&1 | tee "$log" | build_progress && [ "${PIPESTATUS[0]}" -eq 0 ]; then
    echo "build succeeded in $((SECONDS - start)) s"
  else
    tail -30 "$log"
    return 1
  fi
}
