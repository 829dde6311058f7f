"""The WLNN rows of REPRODUCTION.md from reproduction/wlnn (written by make.sh).

python reproduction/wlnn/table.py reproduction/wlnn backprop feedback_alignment ...
"""

import sys
from pathlib import Path

import pandas as pd

PUBLISHED = {  # the thesis's notebook: generation, champion test acc, connections, random
    "backprop": (760, 0.899, 854, "0.786 ± 0.041"),
    "feedback_alignment": (520, 0.888, 1767, "0.775 ± 0.055"),
    "hebbian": (980, 0.775, 362, "0.484 ± 0.060"),
    "last_layer": (980, 0.674, 355, "0.463 ± 0.046"),
}


def main() -> None:
    here, rules = Path(sys.argv[1]), sys.argv[2:]
    print(
        "| rule | thesis: generation, champion test acc, connections, random networks | ours: "
        "generation, champion test acc, connections | ours: 20 random networks, same "
        "connections |"
    )
    print("|---|---|---|---|")
    for rule in rules:
        summary = pd.read_csv(here / "runs" / rule / "results_summary.csv")
        test = summary.dropna(subset=["champion_test_acc"]).iloc[-1]
        control = pd.read_csv(here / f"control-{rule}" / "random_networks.csv")
        random = control[control["kind"] == "random"]["test_acc"]
        g, acc, connections, rnd = PUBLISHED[rule]
        print(
            f"| {rule.replace('_', ' ')} | {g}, {acc:.3f}, {connections}, {rnd} | "
            f"{int(test['generation'])}, {test['champion_test_acc']:.3f}, "
            f"{int(test['champion_connections'])} | {random.mean():.3f} ± {random.std(ddof=0):.3f} "
            f"({len(random)} networks) |"
        )


if __name__ == "__main__":
    main()
