"""``python -m keras_detinit_cli``: the ``keras-detinit`` command."""

import sys

from keras_detinit_cli import main

sys.exit(main())
