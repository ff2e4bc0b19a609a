"""Measured rates of `keras_detinit.reproduce.estimates`: generated, do not edit.

Regenerate from the committed results in docs/results/reproduce/ with:

    python docs/scripts/estimate_rates.py
"""

#: Experiment name -> the fields of its `keras_detinit.reproduce.estimates.Rate`.
RATES = {
    'convergence': {
        'seconds_per_cost': 0.0001332,
        'backend': 'jax',
        'stacked': False,
        'folder': 'docs/results/reproduce/convergence',
        'workers': 1,
        'runs': 72,
    },
    'depth': {
        'seconds_per_cost': 0.04651,
        'backend': 'tensorflow',
        'stacked': True,
        'folder': 'docs/results/reproduce/depth',
        'workers': 2,
        'runs': 180,
    },
    'odd_sigmoid_data': {
        'seconds_per_cost': 0.0004369,
        'backend': 'jax',
        'stacked': False,
        'folder': 'docs/results/reproduce/odd_sigmoid_data',
        'workers': 1,
        'runs': 60,
    },
    'odd_sigmoid_scale': {
        'seconds_per_cost': 8.695e-07,
        'backend': 'jax',
        'stacked': False,
        'folder': 'docs/results/reproduce/odd_sigmoid_scale',
        'workers': 1,
        'runs': 75,
    },
    'odd_sigmoid_signal': {
        'seconds_per_cost': 2.44e-09,
        'backend': 'jax',
        'stacked': False,
        'folder': 'docs/results/reproduce/odd_sigmoid_signal',
        'workers': 1,
        'runs': 108,
    },
    'sigma0': {
        'seconds_per_cost': 1.038e-05,
        'backend': 'jax',
        'stacked': False,
        'folder': 'docs/results/reproduce/sigma0',
        'workers': 1,
        'runs': 20,
    },
    'skewness': {
        'seconds_per_cost': 5.286,
        'backend': 'jax',
        'stacked': False,
        'folder': 'docs/results/reproduce/skewness',
        'workers': 1,
        'runs': 15,
    },
    'table1': {
        'seconds_per_cost': 5.144e-06,
        'backend': 'tensorflow',
        'stacked': True,
        'folder': 'docs/results/reproduce/table1',
        'workers': 2,
        'runs': 648,
    },
    'table2': {
        'seconds_per_cost': 0.005745,
        'backend': 'jax',
        'stacked': True,
        'folder': 'docs/results/reproduce/table2-paper-jax',
        'workers': 1,
        'runs': 246,
    },
    'width': {
        'seconds_per_cost': 0.1946,
        'backend': 'tensorflow',
        'stacked': True,
        'folder': 'docs/results/reproduce/width',
        'workers': 2,
        'runs': 1200,
    },
}
