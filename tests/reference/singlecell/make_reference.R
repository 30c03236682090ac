# Reference values for regmed.singlecell, made with R and limma (and edgeR when installed).
#   Rscript make_reference.R   (writes expected.json beside this script)
# Inputs (written by a seeded regmed.demo.singlecell simulation, stored here):
#   lot_state_counts.csv  lots x states cell counts;  lot_potency.csv  lot, potency
#   pseudobulk_counts.csv genes x lots summed counts of one state's cells
# 1. propeller-style test: logit((count + 0.5) / (total + 1)) per state, regressed on potency
#    with limma's lmFit + eBayes (moderated t, prior df and variance), and Pearson's r.
# 2. pseudobulk: edgeR::cpm(log = TRUE, prior.count = 2), regressed on standardized potency with
#    lmFit + eBayes (limma-trend without the trend), moderated t and p per gene.
# 3. minimum detectable correlation by Fisher's z (pwr-free closed form).
suppressPackageStartupMessages(library(limma))
here <- dirname(normalizePath(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))))
setwd(here)
counts <- read.csv("lot_state_counts.csv", row.names = 1, check.names = FALSE)
pot <- read.csv("lot_potency.csv")
x <- pot$potency[match(rownames(counts), pot$lot)]
p <- (as.matrix(counts) + 0.5) / (rowSums(counts) + 1)
y <- log(p / (1 - p))
design <- model.matrix(~x)
fit <- eBayes(lmFit(t(y), design))
prop <- list(state = colnames(counts), t = unname(fit$t[, 2]),
             p_value = unname(fit$p.value[, 2]), df_prior = fit$df.prior,
             s2_prior = fit$s2.prior, df_total = unname(fit$df.total),
             r = unname(apply(y, 2, function(col) cor(col, x))))
pb <- as.matrix(read.csv("pseudobulk_counts.csv", row.names = 1, check.names = FALSE))
pb <- pb[rowSums(pb) >= 10, ]
if (requireNamespace("edgeR", quietly = TRUE)) {
  logcpm <- edgeR::cpm(pb, log = TRUE, prior.count = 2)
  cpm_source <- "edgeR::cpm"
} else {
  lib <- colSums(pb); pc <- 2 * lib / mean(lib)
  logcpm <- log2(t((t(pb) + pc) / (lib + 2 * pc)) * 1e6)
  cpm_source <- "edgeR formula by hand"
}
xp <- pot$potency[match(colnames(pb), pot$lot)]
z <- (xp - mean(xp)) / sd(xp)
fit2 <- eBayes(lmFit(logcpm, model.matrix(~z)))
pseudo <- list(gene = rownames(pb), estimate = unname(fit2$coefficients[, 2]),
               t = unname(fit2$t[, 2]), p_value = unname(fit2$p.value[, 2]),
               mean_log_cpm = unname(rowMeans(logcpm)), df_prior = fit2$df.prior,
               cpm_source = cpm_source)
mdr <- function(n, alpha = 0.05, power = 0.8) tanh((qnorm(1 - alpha / 2) + qnorm(power)) / sqrt(n - 3))
out <- list(source = paste("R", getRversion(), "limma", packageVersion("limma")),
            propeller = prop, pseudobulk = pseudo,
            min_detectable_r = list(n = c(6, 11, 30), r = mdr(c(6, 11, 30))))
writeLines(jsonlite_free <- (function(v) {
  # minimal JSON writer (no jsonlite dependency)
  enc <- function(v) {
    if (is.list(v)) {
      nm <- names(v)
      inner <- vapply(seq_along(v), function(i) paste0('"', nm[i], '":', enc(v[[i]])), "")
      return(paste0("{", paste(inner, collapse = ","), "}"))
    }
    if (is.character(v)) {
      s <- paste0('"', v, '"')
    } else {
      s <- ifelse(is.finite(v), formatC(v, digits = 15, format = "g"), "null")
    }
    if (length(v) == 1) s else paste0("[", paste(s, collapse = ","), "]")
  }
  enc(v)
})(out), "expected.json")
