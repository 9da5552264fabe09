export const fusedOps = {};
