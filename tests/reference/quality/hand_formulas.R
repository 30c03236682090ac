# Reference values computed by hand in R (no add-on package) for regmed.quality:
# Welch TOST (Schuirmann 1987), quality ranges, Howe's tolerance factor (Howe 1969, as
# tolerance::K.factor(method = "HE")), the individuals/moving-range chart (qcc "xbar.one"
# formulas with d2 = 1.128, Montgomery 2013) and Western Electric / Nelson run rules.
# Inputs: cmp_reference.csv, cmp_candidate.csv, chart_values.csv. Output: hand_formulas.json.
library(jsonlite)
ref <- read.csv("cmp_reference.csv"); cand <- read.csv("cmp_candidate.csv")
alpha <- 0.05; k <- 3
howe <- function(n, P = 0.99, conf = 0.95)
  sqrt((n - 1) * (1 + 1 / n) * qnorm((1 + P) / 2)^2 / qchisq(1 - conf, n - 1))
tost <- lapply(c("a01", "a02", "a03", "a04"), function(a) {
  r <- ref[[a]]; cc <- cand[[a]]
  tt <- t.test(cc, r, var.equal = FALSE, conf.level = 1 - 2 * alpha)  # Welch, 90% CI
  d <- unname(tt$estimate[1] - tt$estimate[2]); se <- unname(tt$stderr); df <- unname(tt$parameter)
  m <- 1.5 * sd(r)
  p_lo <- pt((d + m) / se, df, lower.tail = FALSE); p_hi <- pt((d - m) / se, df)
  K <- howe(length(r))
  list(attribute = a, difference = d, ci_lower = tt$conf.int[1], ci_upper = tt$conf.int[2],
       margin = m, df = df, std_error = se, p_tost = max(p_lo, p_hi),
       equivalent = tt$conf.int[1] > -m && tt$conf.int[2] < m,
       range_lower = mean(r) - k * sd(r), range_upper = mean(r) + k * sd(r),
       share_in_range = mean(cc >= mean(r) - k * sd(r) & cc <= mean(r) + k * sd(r)),
       ti_k = K, ti_lower = mean(r) - K * sd(r), ti_upper = mean(r) + K * sd(r))
})
howe_table <- lapply(c(5, 10, 30, 100), function(n) list(n = n, k_99_95 = howe(n),
  k_90_95 = howe(n, 0.90, 0.95), k_95_99 = howe(n, 0.95, 0.99)))
# I-MR chart by hand
y <- read.csv("chart_values.csv")$value
mr <- abs(diff(y)); mrbar <- mean(mr); ctr <- mean(y); s <- mrbar / 1.128
z <- (y - ctr) / s; n <- length(y)
win <- function(m, w, need) sapply(seq_len(n), function(i) i >= w && sum(m[(i - w + 1):i]) >= need)
r1 <- abs(z) > 3
r2 <- (win(z > 2, 3, 2) & z > 2) | (win(z < -2, 3, 2) & z < -2)
r3 <- (win(z > 1, 5, 4) & z > 1) | (win(z < -1, 5, 4) & z < -1)
r4 <- win(z > 0, 8, 8) | win(z < 0, 8, 8)
st <- sign(diff(y)); tr <- c(FALSE, sapply(seq_along(st), function(i)
  i >= 5 && (all(st[(i - 4):i] > 0) || all(st[(i - 4):i] < 0))))
chart <- list(center = ctr, mr_bar = mrbar, sigma = s, lcl = ctr - 3 * s, ucl = ctr + 3 * s,
  mr_ucl = 3.267 * mrbar, rule1 = which(r1), rule2 = which(r2), rule3 = which(r3),
  rule4 = which(r4), trend = which(tr))
out <- list(tost = do.call(rbind, lapply(tost, as.data.frame)),
  howe = do.call(rbind, lapply(howe_table, as.data.frame)), chart = chart,
  bh = list(p = c(0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216, NA),
            q = p.adjust(c(0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216, NA), "BH")),
  source = "base R by hand: t.test(var.equal = FALSE), qnorm/qchisq, p.adjust(BH)")
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), "hand_formulas.json")
