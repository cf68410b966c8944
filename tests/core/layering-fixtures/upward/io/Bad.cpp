// A lower folder (io) reaching up into a higher one (quant): must be refused.
#include "support/Error.h"
#include "quant/QuantConfig.h"
