#!/usr/bin/env node
import { loadGov } from './load-bundle.js';

loadGov();
