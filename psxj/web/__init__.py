"""The interface in a web browser (`psxj serve`): a view at the top of the pipeline, like psxj.tui.

guard.py decides who may open it (secret, Host, Origin); server.py serves psxj's interface through
textual-serve, each browser's in a child Python (psxj.tui.served). The command is psxj.commands.serve.
Nothing below the top imports this package.
"""
