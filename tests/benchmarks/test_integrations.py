"""The stable-baselines3 integration benchmark: the section's commands, the tables made from rows, and a run
of the three examples at a tiny budget collected into the CSV."""

from __future__ import annotations

from benchmarks import integrations

DATA = "Data: [docs/results/integrations.csv](results/integrations.csv)"
MACHINE, DATE = "Test CPU, 2 cores", "2026-11-23"


def rows_of(example: str, seed: int, command: str, values: dict[str, float]) -> list[dict]:
    return [{"example": example, "seed": seed, "metric": metric, "value": value, "command": command,
             "machine": MACHINE, "date": DATE} for metric, value in values.items()]  # fmt: skip


def sac_rows() -> list[dict]:
    out = []
    for seed, (cov, rand, wall) in enumerate([(0.86, 0.34, 67.2), (0.82, 0.43, 66.9), (0.90, 0.47, 69.4)]):
        command = f"python examples/sb3_sac_metra_maze.py --seed {seed}"
        values = {"coverage": cov, "random_coverage": rand, "wall_s": wall, "steps": 30000}
        out += rows_of("sb3_sac_metra_maze", seed, command, values)
    return out


def ppo_rows() -> list[dict]:
    return rows_of("sb3_ppo_rnd", 0, "python examples/sb3_ppo_rnd.py", {
        "free_cells": 62, "steps": 100000, "wall_s": 54.3,
        "ppo_rnd_cells_visited": 58, "ppo_rnd_coverage": 0.4839, "ppo_rnd_train_s": 25.8,
        "ppo_alone_cells_visited": 10, "ppo_alone_coverage": 0.0323, "ppo_alone_train_s": 24.1,
    })  # fmt: skip


def diayn_rows() -> list[dict]:
    return rows_of("cleanrl_diayn", 0, "python examples/cleanrl_diayn.py", {
        "coverage": 0.36, "discriminator_accuracy": 0.1834, "skills": 16, "steps": 30000, "wall_s": 53.7,
    })  # fmt: skip


def test_the_runs_are_the_sections_commands():
    made = [integrations.command_text(e, a) for e, _, a in integrations.commands([0, 1, 2])]
    assert made == [
        "python examples/sb3_sac_metra_maze.py --seed 0",
        "python examples/sb3_sac_metra_maze.py --seed 1",
        "python examples/sb3_sac_metra_maze.py --seed 2",
        "python examples/sb3_ppo_rnd.py",
        "python examples/cleanrl_diayn.py",
    ]
    tiny = [integrations.command_text(e, a) for e, _, a in integrations.commands([3], steps=512)]
    assert tiny == [
        "python examples/sb3_sac_metra_maze.py --seed 3 --steps 512",
        "python examples/sb3_ppo_rnd.py --steps 512",
        "python examples/cleanrl_diayn.py --total-timesteps 512",
    ]


def test_sac_metra_table():
    rows = sac_rows() + ppo_rows()  # other examples' rows are left out
    assert integrations.sac_metra_table(rows) == [
        "| seed | SB3 SAC + METRA | random policy | wall time (s) |",
        "|---|---|---|---|",
        "| 0 | 0.86 | 0.34 | 67 |",
        "| 1 | 0.82 | 0.43 | 67 |",
        "| 2 | 0.90 | 0.47 | 69 |",
        "| mean | **0.86** | 0.41 | 68 |",
        "",
        f"{DATA} · `python examples/sb3_sac_metra_maze.py --seed 0`, "
        "`python examples/sb3_sac_metra_maze.py --seed 1`, `python examples/sb3_sac_metra_maze.py --seed 2`"
        f" · {MACHINE} · {DATE}.",
    ]


def test_ppo_rnd_table():
    assert integrations.ppo_rnd_table(ppo_rows() + diayn_rows()) == [
        "| run | cells visited during training (of 62) "
        "| coverage of 48 stochastic rollouts of the final policy | train time (s) |",
        "|---|---|---|---|",
        "| PPO + RND | 58 (0.94) | 0.48 | 26 |",
        "| PPO alone | 10 (0.16) | 0.03 | 24 |",
        "",
        f"{DATA} · `python examples/sb3_ppo_rnd.py` · {MACHINE} · {DATE}.",
    ]


def test_diayn_line():
    assert integrations.diayn_line(diayn_rows() + sac_rows()) == [
        "**CleanRL-style SAC + DIAYN on maze:square** (16 skills, 30,000 env steps, seed 0): coverage 0.36 "
        "(48 deterministic rollouts, skill i mod 16), discriminator accuracy on the replay buffer 0.18; "
        "54 s.",
        "",
        f"{DATA} · `python examples/cleanrl_diayn.py` · {MACHINE} · {DATE}.",
    ]


def test_no_rows_say_how_to_make_them():
    for block in (integrations.sac_metra_table, integrations.ppo_rnd_table, integrations.diayn_line):
        (line,) = block([])
        assert line.startswith("No data for `") and "python -m benchmarks.integrations run" in line


def test_a_rerun_replaces_the_rows_of_its_example_and_seed_only(tmp_path):
    out = tmp_path / "integrations.csv"
    integrations.write_rows(sac_rows() + diayn_rows(), out)
    again = rows_of("sb3_sac_metra_maze", 1, "python examples/sb3_sac_metra_maze.py --seed 1",
                    {"coverage": 0.5, "random_coverage": 0.4, "wall_s": 70.0})  # fmt: skip
    merged = integrations.write_rows(again, out)
    assert merged == integrations.read_rows(out)
    seed1 = {r["metric"]: r["value"] for r in merged
             if (r["example"], r["seed"]) == ("sb3_sac_metra_maze", 1)}  # fmt: skip
    assert seed1 == {"coverage": 0.5, "random_coverage": 0.4, "wall_s": 70.0}  # its old "steps" row is gone
    assert len(merged) == len(sac_rows()) - 4 + 3 + len(diayn_rows())
    assert [r["example"] for r in merged][-len(diayn_rows()) :] == ["cleanrl_diayn"] * len(diayn_rows())


def test_a_tiny_run_collects_every_examples_numbers(tmp_path, capsys):
    out = tmp_path / "integrations.csv"
    assert integrations.main(["run", "--seeds", "0", "--steps", "512", "--out", str(out)]) == 0
    rows = integrations.read_rows(out)
    got = {(r["example"], r["seed"], r["command"]) for r in rows}
    assert got == {
        ("sb3_sac_metra_maze", 0, "python examples/sb3_sac_metra_maze.py --seed 0 --steps 512"),
        ("sb3_ppo_rnd", 0, "python examples/sb3_ppo_rnd.py --steps 512"),
        ("cleanrl_diayn", 0, "python examples/cleanrl_diayn.py --total-timesteps 512"),
    }
    sac = integrations.metrics(rows, "sb3_sac_metra_maze")[0]
    ppo = integrations.metrics(rows, "sb3_ppo_rnd")[0]
    diayn = integrations.metrics(rows, "cleanrl_diayn")[0]
    assert set(sac) == {"steps", "train_s", "total_s", "wall_s", "coverage", "coverage_cells",
                        "random_coverage", "random_coverage_cells"}  # fmt: skip
    assert sac["steps"] == ppo["steps"] == diayn["steps"] == 512 and diayn["skills"] == 16
    assert 0 < sac["coverage"] <= 1 and sac["coverage_cells"] == round(100 * sac["coverage"])  # of 100 cells
    assert 0 < sac["random_coverage"] <= 1 and 0 < diayn["coverage"] <= 1
    assert 0 <= diayn["discriminator_accuracy"] <= 1
    assert ppo["free_cells"] == 62
    for run in ("ppo_rnd", "ppo_alone"):
        assert 1 <= ppo[f"{run}_cells_visited"] <= 62 and 0 < ppo[f"{run}_coverage"] <= 1
    for m in (sac, ppo, diayn):
        assert m["wall_s"] > 0
    assert {r["date"] for r in rows} and all(len(r["date"]) == 10 for r in rows)
    printed = capsys.readouterr().out
    assert sum(line.startswith("[") for line in printed.splitlines()) == 3  # one line per finished example
    assert "\n".join(integrations.tables(rows)) in printed
