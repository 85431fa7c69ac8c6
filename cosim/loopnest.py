"""A layer's mapping as a per-level loop nest, in the form of Timeloop's map output.

Outermost first: the DRAM level with the tile loops (`Mapping.order`, the reduction tiles ``c``
innermost), the global buffer (inputs and outputs of one tile; weights bypass it) with the PE
partition as ``spatial_for`` loops (``pes_k`` output-channel groups x ``pes_p`` output rows), the
PE buffers with a PE's share of the tile (lane groups, batch, rows, columns, the channel vectors
and the kernel), and the vector MAC (``lanes`` output channels x ``vector_size`` input channels,
spatial). ``for d in [0:n)`` runs ``n`` trips; a dimension whose tile does not divide it notes
the size of its last tile. Each level names the operands it keeps and the bytes of one tile.
"""

from __future__ import annotations

__all__ = ["render_loopnest", "loopnest_levels"]


def _cdiv(a: int, b: int) -> int:
    return -(-a // max(1, b))


def _loop(dim: str, trips: int, note: str = "", spatial: bool = False) -> tuple[str, int, str, bool]:
    return (dim, trips, note, spatial)


def _edge(total: int, tile: int) -> str:
    tile = max(1, min(tile, total))
    last = total - (_cdiv(total, tile) - 1) * tile
    return f"tile {tile}" + (f", last {last}" if last != tile else "")


def loopnest_levels(layer, m, hw) -> list[tuple[str, str, list[tuple[str, int, str, bool]]]]:
    """``[(level, operands kept, loops outermost first)]``; a loop is ``(dim, trips, note, spatial)``."""
    db = hw.data_bytes
    if getattr(m, "kind", "mac") == "ppu" or not layer.is_mac:
        tiles = _cdiv(max(1, layer.elements), max(1, m.E_t))
        return [("DRAM", "Inputs, Outputs", [_loop("e", tiles, _edge(max(1, layer.elements), m.E_t))]),
                ("GlobalBuffer", f"Inputs, Outputs ({m.glb_bytes:,} B with double buffering)", []),
                ("PPU", f"{m.passes} pass(es) per element, {hw.ppu_elements_per_cycle} elements/cycle",
                 [_loop("e", max(1, m.E_t), "elements of one slice")])]
    N, K, C, P, Q = max(1, layer.N), layer.K, layer.C, max(1, layer.P), max(1, layer.Q)
    lanes, vs = hw.lanes, hw.vector_size
    Kr, Cr = _cdiv(K, lanes) * lanes, _cdiv(C, vs) * vs
    tile = {"n": (N, m.N_t), "k": (Kr, m.K_t), "c": (Cr, m.C_t), "p": (P, m.P_t), "q": (Q, m.Q_t)}
    outer = [_loop(d, _cdiv(tile[d][0], tile[d][1]), _edge(*tile[d])) for d in m.order]
    kpe = _cdiv(_cdiv(min(m.K_t, Kr), lanes), m.pes_k)
    rows = _cdiv(min(m.P_t, P), m.pes_p)
    res = "whole input resident" if m.inputs_resident else "one tile, double-buffered"
    glb = [_loop("k", m.pes_k, f"PEs along K ({kpe} lane groups each)", True),
           _loop("p", m.pes_p, f"PEs along P ({rows} rows each)", True)]
    # a lane keeps one weight vector while it sweeps up to accum_entries_per_lane output positions
    # (an accumulation block), so the positions are innermost and the reduction outside them
    positions = min(m.N_t, N) * rows * min(m.Q_t, Q)
    blocks = _cdiv(positions, hw.accum_entries_per_lane)
    pe = [_loop("k", kpe, f"lane groups of {lanes} channels"),
          _loop("blk", blocks, f"accumulation blocks of <= {hw.accum_entries_per_lane} positions"),
          _loop("c", _cdiv(min(m.C_t, Cr), vs), f"vectors of {vs} channels"),
          _loop("r", max(1, layer.R)), _loop("s", max(1, layer.S)), _loop("n", min(m.N_t, N)),
          _loop("p", rows), _loop("q", min(m.Q_t, Q))]
    mac = [_loop("k", lanes, "lanes", True), _loop("c", vs, "vector MAC", True)]
    w_op = "Weights (an activation: B of the matmul)" if layer.weights_are_activations else "Weights"
    return [
        ("DRAM", "Weights, Inputs, Outputs", outer),
        ("GlobalBuffer", f"Inputs, Outputs ({res}; {m.glb_bytes:,} B; weights bypass it)", glb),
        ("PE buffers", f"{w_op} in WeightBuffer ({m.wbuf_bytes_per_pe:,} B), Inputs in InputBuffer "
                       f"({m.ibuf_bytes_per_pe:,} B), Outputs in AccumBuffer ({m.accum_entries_per_lane} "
                       f"entries/lane) -- per PE, double-buffered", pe),
        (f"MAC array ({db} B operands)", "-", mac),
    ]


def render_loopnest(layer, m, hw) -> str:
    """The loop nest of ``layer`` mapped by ``m`` on ``hw`` as text (Timeloop's map style)."""
    lines = [f"{layer.name} [{layer.op}]" + (f" order {'>'.join(m.order)}" if getattr(m, "order", ()) else "")]
    depth = 0
    for level, keeps, loops in loopnest_levels(layer, m, hw):
        head = f"{'  ' * depth}{level} [ {keeps} ]"
        lines += [head, f"{'  ' * depth}{'-' * max(8, min(60, len(head) - 2 * depth))}"]
        for dim, trips, note, spatial in loops:
            if trips <= 1 and not note.startswith("elements"):
                continue
            kw = "spatial_for" if spatial else "for"
            lines.append(f"{'  ' * depth}| {kw} {dim} in [0:{trips})" + (f"   ({note})" if note else ""))
            depth += 1
        lines.append("")
    if layer.is_mac:
        lines.append(f"{'  ' * depth}MAC  ({layer.macs:,} useful MACs)")
    return "\n".join(lines).rstrip() + "\n"
