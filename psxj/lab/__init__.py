"""The teaching lab: counterexamples (the demo with one rule left out), job control live, and the quiz.
The teaching part of psxj, above the demo it builds on; the command line (psxj.commands.lab) and the
interface (psxj.tui.lab_screen) show it."""
