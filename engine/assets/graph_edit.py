"""What the fetch-time graph rewrites share (`prelu_lookup.py`, `prelu_nchwc.py`)."""


def replace_nodes(graph, nodes, added) -> None:
    """Gives `graph` the node list `nodes` and the initialisers `added`, keeping only the old
    ones some node still reads, sorted by name so that the file is the same bytes every run."""
    del graph.node[:]
    graph.node.extend(nodes)
    used = {i for n in graph.node for i in n.input}
    kept = [t for t in graph.initializer if t.name in used] + list(added)
    del graph.initializer[:]
    graph.initializer.extend(sorted(kept, key=lambda t: t.name))
