"""Actor classes, one per role: plain Python, thin wrappers over visrep.

They never import ray and never call each other; ``rayapps`` applies ``ray.remote``
when it spawns them and moves data between them.
"""
