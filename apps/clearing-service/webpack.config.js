module.exports = require('../../tools/build/app-webpack')(__dirname);
