# Reference values of Cohen's kappa (raters r1, r2) and Fleiss' kappa (r1, r2, r3) for
# tests/web/test_adjudication.py, by the textbook formulas (Cohen 1960; Fleiss 1971) in base R
# (package irr is not installed). Run: Rscript kappa.R  (writes kappa.json)
library(jsonlite)
d <- read.csv("kappa_input.csv", stringsAsFactors = FALSE)
lev <- sort(unique(c(d$r1, d$r2, d$r3)))
cohen <- function(a, b) {
  t <- table(factor(a, lev), factor(b, lev)) / length(a)
  po <- sum(diag(t)); pe <- sum(rowSums(t) * colSums(t))
  (po - pe) / (1 - pe)
}
fleiss <- function(m) {
  n <- nrow(m); k <- ncol(m)
  counts <- t(apply(m, 1, function(r) table(factor(r, lev))))
  P <- (rowSums(counts^2) - k) / (k * (k - 1))
  p <- colSums(counts) / (n * k)
  (mean(P) - sum(p^2)) / (1 - sum(p^2))
}
out <- list(
  source = "base R 4.2.2, textbook formulas (Cohen 1960, Fleiss 1971)",
  cohen_kappa_r1_r2 = cohen(d$r1, d$r2),
  fleiss_kappa_r1_r2_r3 = fleiss(as.matrix(d[, c("r1", "r2", "r3")])),
  fleiss_kappa_r1_r2 = fleiss(as.matrix(d[, c("r1", "r2")]))
)
write(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "kappa.json")
