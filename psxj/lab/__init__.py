"""The teaching lab: counterexamples (the demo with one rule left out), job control live, and the quiz."""
