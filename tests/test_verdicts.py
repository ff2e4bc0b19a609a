"""Spread-aware verdicts on the papers' claims, and the deep-narrow claim tables."""

import math

import pytest

from keras_detinit.reporting import verdicts
from keras_detinit.reporting.results import Results
from keras_detinit.reproduce.experiments import depth
from keras_detinit.reproduce.experiments import ffnn
from keras_detinit.reproduce.experiments import table1
from keras_detinit.reproduce.experiments import table2
from keras_detinit.reproduce.experiments import width

NAN = math.nan


@pytest.mark.parametrize("mean_std, threshold, expected", [
    ((0.50, 0.05), 0.20, "held"),
    ((0.11, 0.01), 0.20, "not held"),
    ((0.22, 0.05), 0.20, "undecided"),   # the threshold lies inside the spread
    ((0.90, NAN), 0.20, "undecided"),    # one seed decides nothing
    ((NAN, NAN), 0.20, "undecided"),
])
def test_a_threshold_inside_the_spread_is_undecided(mean_std, threshold, expected):
    assert verdicts.against(mean_std, threshold) == expected


def test_compare_is_antisymmetric_and_undecided_when_intervals_overlap():
    ours, other = (0.80, 0.02), (0.60, 0.05)
    assert verdicts.compare(ours, other) == "ahead"
    assert verdicts.compare(other, ours) == "behind"
    assert verdicts.compare((0.80, 0.02), (0.77, 0.02)) == "undecided"
    assert verdicts.compare((0.80, NAN), (0.10, NAN)) == "undecided"


@pytest.mark.parametrize("ours, rival, margin, claim, verdict", [
    ((0.9, 0.01), (0.5, 0.01), 10.0, "leads", "held"),
    ((0.4, 0.01), (0.5, 0.01), 10.0, "leads", "not held"),
    ((0.4, 0.01), (0.5, 0.01), -10.0, "trails", "held"),
    ((0.9, 0.01), (0.5, 0.01), -10.0, "trails", "not held"),
    ((0.50, 0.01), (0.505, 0.01), 0.3, "even", "held"),
    ((0.90, 0.01), (0.50, 0.01), 0.3, "even", "not held"),
    ((0.90, 0.01), (0.50, 0.01), None, "leads", "held"),  # the paper's text: it leads
    ((0.90, NAN), (0.10, NAN), 10.0, "leads", "undecided"),
    ((0.50, NAN), (0.50, NAN), 0.0, "even", "undecided"),  # one seed: not even "even"
])
def test_lead_verdict_follows_the_papers_sign(ours, rival, margin, claim, verdict):
    lead = verdicts.Lead("cell", ours, "He", rival, margin)
    assert (lead.claim, lead.verdict) == (claim, verdict)


def test_tally_counts_every_verdict():
    text = verdicts.tally(["held", "not held", "undecided", "held"])
    assert text == "held in 2, not held in 1, undecided in 1 of 4 cells"


def _rows(values):
    return Results([{"init": init, "seed": seed, "cell": "a", "acc": accuracy}
                    for init, accuracies in values.items()
                    for seed, accuracy in enumerate(accuracies)])


def test_leads_take_the_best_of_the_papers_rivals_and_ignore_extra_columns():
    results = _rows({"epsilon_orthogonal": [0.80, 0.82], "he_normal": [0.50, 0.52],
                     "glorot_uniform": [0.60, 0.62], "sinusoidal": [0.99, 0.99]})
    paper = {"epsilon_orthogonal": 70.0, "he_normal": 40.0, "glorot_uniform": 65.0}
    [lead] = ffnn.leads([("a", {"cell": "a"})],
                        ["epsilon_orthogonal", "he_normal", "glorot_uniform", "sinusoidal"],
                        lambda **criteria: results.mean_std("acc", **criteria),
                        lambda init, cell: paper.get(init))
    assert lead.rival == ffnn.label("glorot_uniform")  # Sinusoidal is not the paper's
    assert lead.paper_margin == pytest.approx(5.0)
    assert lead.ours == pytest.approx((0.81, 0.01))
    assert lead.verdict == "held"


def test_leads_without_the_proposed_initializer_are_empty():
    results = _rows({"he_normal": [0.5, 0.6]})
    assert ffnn.leads([("a", {})], ["he_normal"],
                      lambda **criteria: results.mean_std("acc", **criteria)) == []
    assert "not measured" in ffnn.leads_section([], "x")


def _curve_rows(configurations, accuracy):
    return Results([{**config, "seed": seed,
                     "val_accuracy_curve": f"0.1;{accuracy(config, seed)}",
                     **{column: accuracy(config, seed) for column in
                        ("acc_epoch1", "acc_epoch10", "acc_epoch100")}}
                    for config in configurations for seed in (3, 4, 5)])


def _proposed_ahead(config, seed):
    return (0.9 if config["init"] == "epsilon_orthogonal" else 0.1) + 0.001 * seed


def test_table2_report_decides_cells_where_the_seeds_separate():
    experiment = table2.Table2()
    settings = experiment.settings("quick", {"activations": ["relu"]})
    results = _curve_rows(experiment.configurations(settings), _proposed_ahead)
    leads = table2._leads(results, settings)
    # The paper: ε-orthogonal leads with ReLU on both datasets; so do our seeds.
    assert [lead.verdict for lead in leads] == ["held", "held"]


def test_depth_claims_call_an_untrained_proposed_network_not_held():
    experiment = depth.DepthSweep()
    settings = experiment.settings("quick")
    results = _curve_rows(experiment.configurations(settings),
                          lambda config, seed: 0.1 + 0.001 * seed)  # nothing trains
    text = depth._statements(results, settings)
    proposed_rows = [line for line in text.splitlines()
                     if f"{ffnn.label(ffnn.PROPOSED)} trains" in line]
    assert proposed_rows and all("**not held**" in line for line in proposed_rows)
    random_fails = [line for line in text.splitlines() if "fails |" in line]
    assert random_fails and all("**held**" in line for line in random_fails)


def test_width_worst_cell_is_taken_per_seed():
    experiment = width.WidthHeatmaps()
    settings = experiment.settings("quick", {"widths": [2, 4], "datasets": ["mnist"]})

    def accuracy(config, seed):
        if config["init"] == "epsilon_orthogonal":
            return 0.5 + 0.01 * seed
        # Every other scheme fails in one cell, a different cell for each seed.
        failing = [(2, 2), (2, 4), (4, 2)][seed - 3]
        return 0.1 if (config["first"], config["second"]) == failing else 0.9

    results = _curve_rows(experiment.configurations(settings), accuracy)
    worst = width._worst_cell(results, settings, init="he_normal", dataset="mnist")
    assert worst == pytest.approx((0.1, 0.0))
    leads = {lead.cell: lead for lead in width._leads(results, settings)}
    assert leads["Fig. 4 (MNIST), worst cell of the grid"].verdict == "held"


def test_table1_cells_carry_the_papers_margin():
    experiment = table1.Table1()
    settings = experiment.settings("quick", {"samples_per_class": [4], "hidden": [16],
                                             "datasets": ["mnist"]})
    results = _curve_rows(experiment.configurations(settings), _proposed_ahead)
    leads = table1._leads(results, settings, settings["initializers"])
    assert {lead.cell for lead in leads} == {"k=4, 10 ep., MNIST (16)",
                                             "k=4, 100 ep., MNIST (16)"}
    # Paper, MNIST, 16 units, 4 per class, 10 epochs: 51.2% against 22.5% (orthogonal).
    ten = next(lead for lead in leads if "10 ep." in lead.cell)
    assert ten.paper_margin == pytest.approx(51.2 - 22.5)
    assert all(lead.verdict == "held" for lead in leads)


def test_agreement_table_flags_cells_the_seeds_separate():
    text = verdicts.agreement_table([("relu", (0.80, 0.01), (0.81, 0.01)),
                                     ("gelu", (0.60, 0.01), (0.30, 0.02))], ("TF", "JAX"))
    assert text.startswith("The two agree (their mean ± std overlap) in 1 of 2 cells.")
    assert "| relu | 80.0 ± 1.0 | 81.0 ± 1.0 | agree |" in text
    assert "**TF ahead**" in text
