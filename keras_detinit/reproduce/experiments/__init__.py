"""The experiments of ``keras-detinit reproduce``, one module each."""
