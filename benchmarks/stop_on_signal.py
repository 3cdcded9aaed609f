"""How fast `mllm-audit audit` stops on SIGTERM and SIGINT, at three moments of an audit.

Why: a scheduler, a worker or a person pressing Ctrl-C expects an audit to stop within seconds
(issue 11). The cases are the behavioural test's (`testkit/stop_scenarios.py`: the demo models,
a small probe set, a database per case): the signal at start-up (Prefect's temporary API starting),
mid-batch (with the temporary API and with a loopback `prefect server`) and after the verdict
(alerts and report). Recorded per case: the exit code, seconds from
the signal to the "stopped by" line and to the process's exit, whether anything of its process
group outlived it, and the load averages (the development machine is shared).

Run: .venv/bin/python -m benchmarks.stop_on_signal; writes benchmarks/results/stop_on_signal.json.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from benchmarks.machine import write_results

REPO = Path(__file__).resolve().parent.parent
# (moment, Prefect API): start-up is the temporary API's; mid-batch with both, since a stopped
# process flushes its logs and events to whichever API it used
CASES = (("startup", "temporary API"), ("mid-batch", "temporary API"), ("mid-batch", "loopback server"),
         ("report", "loopback server"))


def main() -> None:
    from testkit.loopback import prefect_server
    from testkit.stop_scenarios import SIGNALS, interrupt, prepare

    out = REPO / "benchmarks" / "results" / "stop_on_signal.json"
    load_start = list(os.getloadavg())
    cases = []
    with tempfile.TemporaryDirectory(prefix="mllm-audit-stop-") as name:
        tmp = Path(name)
        setup = prepare(tmp / "stop", REPO, n_probes=12)
        with prefect_server(tmp / "prefect-server") as server:
            for moment, prefect in CASES:
                for signal_name in sorted(SIGNALS):
                    load = list(os.getloadavg())
                    case = interrupt(setup, signal_name, moment, server.url if prefect == "loopback server" else None)
                    print(f"{signal_name:>7} at {moment:>9} ({prefect}): exit {case.returncode}, message after "
                          f"{case.message_s}, exit after {case.stop_s} s", flush=True)
                    cases.append({"signal": signal_name, "moment": moment, "exit_code": case.returncode,
                                  "seconds_to_message": case.message_s, "seconds_to_exit": case.stop_s,
                                  "seconds_into_audit": round(case.moment_reached_s, 2), "prefect": prefect,
                                  "report_written_before_signal": case.report_existed_at_signal,
                                  "left_running": case.left_running, "load_average_before": load})
    write_results(out, "stop_on_signal", load_start, cases=cases)


if __name__ == "__main__":
    main()
