# Adaptive clipping, Andrew et al. 2021 ("Differentially Private Learning with Adaptive Clipping",
# NeurIPS 2021), Algorithm 1, written from the paper with the standard library only (no FedStream
# code): z_delta = (z^-2 - (2 sigma_b)^-2)^(-1/2); b_i = 1 if ||Delta_i|| <= C;
# b~ = (sum b_i + N(0, sigma_b^2)) / m; C <- C * exp(-eta_C * (b~ - gamma)).
# The normal draws are fixed so the Java test can replay them. Prints one "key value" per line.
import math

z = 1.1
m = 5
sigma_b = 1.0  # 2 sigma_b must exceed z (the paper's m/20 is meant for hundreds of clients)
gamma = 0.5
eta_c = 0.2
clip = 0.1
rounds = [
    ([0.05, 0.08, 0.2, 0.3, 0.12], 0.37),
    ([0.02, 0.5, 0.09, 0.11, 0.4], -1.21),
    ([0.07, 0.06, 0.05, 0.3, 0.2], 0.05),
    ([0.01, 0.02, 0.03, 0.04, 0.9], 2.4),
    ([1.0, 1.1, 1.2, 0.095, 0.2], -0.6),
]

print("z_delta %r" % (1.0 / math.sqrt(z ** -2 - (2 * sigma_b) ** -2)))
for t, (norms, normal) in enumerate(rounds):
    b = sum(1 for n in norms if n <= clip)
    b_tilde = (b + sigma_b * normal) / m
    clip = clip * math.exp(-eta_c * (b_tilde - gamma))
    print("clip%d %r" % (t + 1, clip))
