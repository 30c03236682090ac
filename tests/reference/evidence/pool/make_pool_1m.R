# MatchIt 4.7.2 on the synthetic 1M-control pool of regmed.demo.pool (seed 2026): the logistic
# propensity model (glm) and 1:2 nearest-neighbour matching within 0.2 SD of the logit.
# Run by make_pool_1m.py, which writes the columns as binary files and the levels:
#   R_LIBS=/opt/rlib Rscript make_pool_1m.R <folder> <out.json>
suppressMessages({library(MatchIt); library(jsonlite)})
a <- commandArgs(TRUE); folder <- a[1]; out <- a[2]
meta <- fromJSON(file.path(folder, "meta.json"))
n <- meta$n
col <- function(name, what = "double") readBin(file.path(folder, paste0(name, ".bin")), what, n)
d <- data.frame(t = col("t", "integer"), age = col("age"), year = col("year"),
                region = factor(meta$regions[col("region", "integer") + 1], levels = meta$regions),
                male = col("male", "integer") == 1L)
for (j in seq_len(16)) d[[paste0("lab", j)]] <- col(paste0("lab", j))
rownames(d) <- as.character(col("pid", "integer"))
f <- reformulate(c("age", "year", "region", "male", paste0("lab", 1:16)), "t")
fit <- glm(f, data = d, family = binomial())
m <- matchit(f, data = d, method = "nearest", distance = "glm", link = "linear.logit",
             caliper = 0.2, ratio = 2)
mm <- m$match.matrix
sets <- lapply(seq_len(nrow(mm)), function(i) {
  k <- mm[i, ]; k <- k[!is.na(k)]
  if (length(k)) list(treated = as.integer(rownames(mm)[i]), controls = as.integer(k)) else NULL
})
sets <- Filter(Negate(is.null), sets)
co <- summary(fit)$coefficients
write_json(list(matchit = as.character(packageVersion("MatchIt")), r = R.version.string,
                n = n, term = rownames(co), estimate = sprintf("%.17g", co[, 1]),
                std_error = sprintf("%.17g", co[, 2]),
                deviance = sprintf("%.17g", deviance(fit)), sets = sets),
           out, auto_unbox = TRUE, digits = NA)
