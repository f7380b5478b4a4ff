#include "tenpak/model/model_config.h"
