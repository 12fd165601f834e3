# The benchmark plant: 200 machines, 20 lines × 10, each line with a filler (sourced by
# scripts/bench-live.sh and scripts/bench-replicas.sh). `write_plant200 FILE`.

write_plant200() {
kinds=(depal rinser filler capper labeler inspect coder shrink packer palletiser)
{
  cat <<'EOF'
timezone = "UTC"
microstop_threshold = "2m"
stale_after = "30s"

[state_codes]
1 = "running"
2 = "idle"
3 = "down"
4 = "planned_stop"
5 = "changeover"

[[shifts]]
name = "early"
start = "06:00"
end = "14:00"
breaks = [{ start = "09:00", end = "09:15" }, { start = "12:00", end = "12:30" }]

[[shifts]]
name = "late"
start = "14:00"
end = "22:00"
breaks = [{ start = "17:00", end = "17:15" }, { start = "19:30", end = "20:00" }]

[[shifts]]
name = "night"
start = "22:00"
end = "06:00"
crosses_midnight = true
breaks = [{ start = "02:00", end = "02:30" }]
EOF
  for l in $(seq 1 20); do
    printf '\n[[lines]]\nid = "line-%s"\nname = "Line %s"\noutput_machine = "l%s-packer"\nconstraint_machine = "l%s-filler"\n' "$l" "$l" "$l" "$l"
    for i in "${!kinds[@]}"; do
      k=${kinds[$i]}
      K=${k^}
      printf '\n[[lines.machines]]\nid = "l%s-%s"\nname = "%s"\nideal_cycle_time = "1s"\n' "$l" "$k" "$K"
      printf 'fault_codes = { %s01 = "jam", %s02 = "drive fault" }\n' "$((i + 1))" "$((i + 1))"
      if [ "$k" = filler ]; then
        printf 'products = [{ code = 1, name = "0.5 l still", ideal_cycle_time = "1s" }, { code = 2, name = "1.5 l sparkling", ideal_cycle_time = "1.5s" }]\n'
      fi
      printf '[lines.machines.tags]\nstate = { tag = "L%s.%s.State" }\n' "$l" "$K"
      printf 'good = { tag = "L%s.%s.Good", width = 32 }\nreject = { tag = "L%s.%s.Reject", width = 32 }\n' "$l" "$K" "$l" "$K"
      printf 'fault_code = "L%s.%s.FaultCode"\n' "$l" "$K"
      if [ "$k" = filler ]; then printf 'product = "L%s.%s.Product"\n' "$l" "$K"; fi
    done
  done
} > "$1"
}
