"""The chaos runner every koppeling shares (`make chaos`): seeded faults, killed workers, a generic report.

``runner`` plays a run, ``faults`` holds the faults any vendor sandbox can be given, ``consumers`` the deliver
workers, ``report`` the figures every run prints; ``python -m devkit.chaos`` runs one koppeling or all of them.
A koppeling's own part (its workload, its vendors' faults, how its target is read) is its ``chaos.py`` under
devkit/koppelingen/.
"""
