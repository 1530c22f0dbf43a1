"""Sample metrics over checkpoints (fid-sweep): FID, KID, IS, precision/recall,
density/coverage; feature networks, real data, sample generation, the sweep itself."""
