"""MedQuanBench model zoo: networks, training, evaluation and TorchScript export."""
