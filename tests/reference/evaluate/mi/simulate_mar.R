# What R's mice 3.15 does on the MAR simulation of tests/evidence/test_imputation.py.
# Run from this folder:  Rscript simulate_mar.R   -> writes mar_simulation.json
# Design: x ~ N(0,1), z ~ Bernoulli(0.4), y = 1 + 0.5 x + z + N(0,1), n = 250; x and z go
# missing more often when the (always observed) y is high (probit in y: MAR). mice's default
# methods (pmm for x, logreg for the factor z), m = 5, maxit = 5; pooled by mice::pool.
# Estimands: the slope of x in lm(y ~ x + z) (truth 0.5) and the mean of x (truth 0).
# Predictive mean matching shrinks slightly towards the centre here (few donors where x is
# mostly missing), so regmed's impute() is compared with mice's bias, not with zero.
suppressPackageStartupMessages({library(mice); library(jsonlite)})
stopifnot(as.character(packageVersion("mice")) == "3.15.0")
set.seed(20261202)
reps <- 500; n <- 250
res <- t(sapply(seq_len(reps), function(r) {
  x <- rnorm(n); z <- rbinom(n, 1, 0.4); y <- 1 + 0.5 * x + z + rnorm(n)
  d <- data.frame(x, z, y)
  d$x[runif(n) < pnorm(-1 + 0.8 * (y - 1.5))] <- NA
  d$z[runif(n) < pnorm(-1.2 + 0.6 * (y - 1.5))] <- NA
  d$z <- factor(d$z)
  imp <- mice(d, m = 5, maxit = 5, printFlag = FALSE)
  s <- summary(pool(with(imp, lm(y ~ x + z))), conf.int = TRUE)
  p <- pool(with(imp, lm(x ~ 1))); sm <- summary(p, conf.int = TRUE)
  c(slope = s$estimate[2], slope_cover = s[2, "2.5 %"] <= 0.5 & 0.5 <= s[2, "97.5 %"],
    mean = sm$estimate[1], mean_cover = sm[1, "2.5 %"] <= 0 & 0 <= sm[1, "97.5 %"],
    fmi = p$pooled$fmi[1])
}))
out <- list(reps = reps, n = n, m = 5, maxit = 5,
            mean = as.list(colMeans(res)), mc_se = as.list(apply(res, 2, sd) / sqrt(reps)),
            versions = list(R = R.version.string, mice = as.character(packageVersion("mice"))))
cat(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), file = "mar_simulation.json")
