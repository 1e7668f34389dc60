#!/usr/bin/env node
'use strict';
require('./load-bundle.js').loadGov();
