// A path relative to the including file bypasses the include views: must be refused.
#include "int8/Int8Model.h"
