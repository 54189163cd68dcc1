"""One module per check, named after its id. Each has ID, TITLE, probe(ctx) -> facts, judge(facts) -> Finding.

``judge`` only reads the facts (plain data), so a check can be judged on facts recorded on another system:
Windows logic is tested on Linux by handing it Windows facts.
"""
